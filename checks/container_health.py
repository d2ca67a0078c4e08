"""Whether a container's health is checked while it runs (CIS v1.6.0 and later, 5.27). The health
check is the container's merged configuration: dockerd copies the image's HEALTHCHECK into the
container's Config.Healthcheck at create unless --health-* options replace parts of it (moby
daemon/commit.go merge), and runs it only for the types CMD and CMD-SHELL (daemon/health.go
getProbe: NONE, an empty test or another type runs nothing)."""
from __future__ import annotations

from bench.check import container_check, errored, failed, passed, warned

PROBES = ("CMD", "CMD-SHELL")


@container_check("container-health-status", title="The container's health is checked at runtime",
                 rationale=("A health check lets the orchestrator, the restart policy and the operator see "
                            "that a container has stopped serving (a hung process, an exhausted pool) and act, "
                            "which keeps the service available."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#healthcheck",
                             "https://docs.docker.com/reference/dockerfile/#healthcheck"))
def container_health_status(container, facts):
    """Reads Config.Healthcheck.Test, the image's HEALTHCHECK merged with the container's --health-*
    options as dockerd stores them, and State.Health. No test, NONE (--no-healthcheck) or a type
    dockerd does not run (only CMD and CMD-SHELL run) FAILs. A running container with a health check
    PASSes while State.Health is starting or healthy and WARNs when it is unhealthy (health is
    checked, and says the container needs attention); one that reports no State.Health is ERROR. A
    stopped container with a health check PASSes (it runs when the container does), naming the last
    status. The command itself is not shown (the collector keeps only its type)."""
    test = container.get("Config.Healthcheck.Test", None)
    kind = str(test[0]) if isinstance(test, list) and test else None
    if kind not in PROBES:
        if kind is None:
            return failed("no health check: neither the image's HEALTHCHECK nor --health-cmd")
        if kind == "NONE":
            return failed("health check disabled (NONE: --no-healthcheck or HEALTHCHECK NONE)")
        return failed(f"health check of type {kind!r}, which dockerd does not run (only CMD and CMD-SHELL)")
    health = container.get("State.Health", None)
    status = str(health.get("Status") or "") if isinstance(health, dict) else ""
    if not container.get("State.Running", False):
        last = f"; last status {status}" if status else ""
        return passed(f"health check {kind} configured; it runs when the container does{last}")
    if not status:
        return errored(f"health check {kind} configured, but the running container reports no State.Health")
    if status == "unhealthy":
        streak = health.get("FailingStreak")
        return warned(f"health checked ({kind}) and unhealthy"
                      + (f" after {streak} failing probe(s)" if streak else "") + ": the container needs attention")
    return passed(f"health checked ({kind}): {status}")
