"""docker-cis-bench: audit a Docker host against the CIS Docker Benchmark."""

__version__ = "0.1.0"
TOOL_NAME = "docker-cis-bench"
