"""Faults and bad input made real against throwaway dockerds: never a false PASS, never a crash,
nothing written to the host. A package, so that its modules share one daemon (conftest.py)."""
