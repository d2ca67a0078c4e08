"""The Docker Engine API transport: where the engine is (endpoint), how to reach it (unix socket,
ssh), one client per thread (session), and what its failures mean (errors). The collectors in
bench/collect/ use it; nothing here knows about checks or facts."""
