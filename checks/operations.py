"""Security operations (CIS section 6): organisational practice, with the evidence this host shows."""
from __future__ import annotations

from bench.check import check, info, warned

SPRAWL_STOPPED = 25
MONITORING_HINTS = ("cadvisor", "prometheus", "node-exporter", "datadog", "telegraf", "zabbix", "netdata",
                    "newrelic", "dynatrace", "grafana-agent", "otel", "elastic-agent", "sysdig", "falco")


@check("manual-security-audits", title="The host and containers are audited regularly (evidence)", needs=("host",),
       rationale=("Configuration drifts as containers and settings change; only regular audits "
                  "catch a host that was compliant once and no longer is."),
       references=("https://docs.docker.com/engine/security/",))
def security_audits(facts):
    """Always INFO: states when and on which host this audit ran, as a reminder to run audits on a
    schedule (for example from cron with --baseline) and follow up their findings. A remote
    engine SKIPs."""
    return info(f"this audit ran at {facts.collected_at or 'an unknown time'} on {facts.host.hostname or 'this host'}; "
                "confirm audits run on a schedule (e.g. from cron with --baseline) and findings are followed up")


@check("manual-container-monitoring", title="Container usage and performance are monitored (evidence)",
       needs=("containers",),
       rationale=("Monitoring reveals containers that misbehave, run away with resources or were "
                  "started without approval, often the first sign of a compromise."),
       references=("https://docs.docker.com/engine/containers/runmetrics/",
                   "https://docs.docker.com/engine/daemon/prometheus/"))
def container_monitoring(facts):
    """Always INFO: counts the inspected containers and names those whose image or name contains a
    known monitoring agent (cadvisor, prometheus, node-exporter, datadog, telegraf, zabbix,
    netdata, ...), for a human to confirm usage, performance and metering are monitored."""
    found = sorted({c.name for c in facts.containers.items
                    if any(h in (str(c.inspect.get("Config", {}).get("Image", "")) + c.name).lower() for h in MONITORING_HINTS)})
    hint = f"containers that look like monitoring agents: {', '.join(found)}" if found else "no monitoring agent container seen"
    return info(f"{len(facts.containers.items)} containers examined; {hint}. Confirm usage, performance and "
                "metering are monitored.")


@check("manual-container-backup", title="Container data is backed up (evidence)", needs=("containers",),
       rationale=("Data in containers and volumes is lost with a host failure, a ransomware "
                  "attack or a mistaken prune unless it is backed up and restorable."),
       references=("https://docs.docker.com/engine/storage/volumes/#back-up-restore-or-migrate-data-volumes",))
def container_backup(facts):
    """Always INFO: counts the named volumes and bind-mounted host paths in the inspected
    containers' Mounts that hold container data, for a human to confirm they are backed up and
    restores tested."""
    volumes, binds = set(), set()
    for c in facts.containers.items:
        for mount in c.inspect.get("Mounts") or []:
            if mount.get("Type") == "volume":
                volumes.add(str(mount.get("Name") or mount.get("Source")))
            elif mount.get("Type") == "bind":
                binds.add(str(mount.get("Source")))
    return info(f"{len(volumes)} named volumes and {len(binds)} bind-mounted host paths hold container data; "
                "confirm they are backed up and that a restore has been tried")


@check("containers-sprawl", title="Stopped containers are kept in check", needs=("engine",),
       rationale=("Stopped containers accumulate data, old images and forgotten configurations, "
                  "and can be restarted by mistake; keeping them few keeps the host "
                  "understandable."),
       references=("https://docs.docker.com/reference/cli/docker/container/prune/",
                   "https://docs.docker.com/engine/manage-resources/pruning/"))
def containers_sprawl(facts):
    """Reads Containers and ContainersRunning from `docker info`: more than 25 containers not
    running (stopped or paused) WARNs, otherwise INFO with the counts."""
    data = facts.engine.info
    total = int(data.get("Containers") or 0)
    running = int(data.get("ContainersRunning") or 0)
    stopped = total - running
    text = f"{total} containers: {running} running, {stopped} not running"
    if stopped > SPRAWL_STOPPED:
        return warned(f"{text}: more than {SPRAWL_STOPPED} containers are not running; remove those no longer needed")
    return info(text)
