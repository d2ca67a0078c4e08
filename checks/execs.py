"""`docker exec` with --privileged or --user (CIS 5.22, 5.23): searched in the audit log, as the
benchmark does, and in the exec sessions the daemon still tracks."""
from __future__ import annotations

from bench.check import check, failed, info, passed


def _verdict(facts, offending, what: str):
    execs = facts.execs
    if offending:
        shown = "; ".join(f"{r.container} ({r.origin}{', user ' + r.user if r.user else ''})" for r in offending[:20])
        more = f" and {len(offending) - 20} more" if len(offending) > 20 else ""
        return failed(f"{len(offending)} docker exec {what}: {shown}{more}")
    live = sum(1 for r in execs.records if r.origin.startswith("exec session"))
    if execs.audit_log:
        return passed(f"no docker exec {what} in {execs.audit_log} or in {live} tracked exec sessions")
    return info(f"{execs.audit_log_note}; none of the {live} exec sessions the daemon tracks used {what}. "
                "Enable the section 1 audit rules to keep a history.")


@check("exec-no-privileged", title="No docker exec runs with --privileged", needs=("execs",),
       rationale=("A privileged exec gives the new process every capability and lifts the "
                  "confinement the container was started with, even if the container itself is "
                  "not privileged."),
       references=("https://docs.docker.com/reference/cli/docker/container/exec/#privileged",
                   "https://man7.org/linux/man-pages/man8/ausearch.8.html"))
def exec_no_privileged(facts):
    """Searches the audit log (log_file of /etc/audit/auditd.conf, default /var/log/audit/audit.log,
    and its rotations .1 to .9) for EXECVE records of `docker ... exec`, and inspects every exec
    session the daemon still tracks (ExecIDs of the inspected containers). Any exec with
    --privileged FAILs; none PASSes when an audit log was searched, and is INFO when there is no
    audit log; an unreadable log or exec session is ERROR."""
    return _verdict(facts, [r for r in facts.execs.records if r.privileged], "--privileged")


@check("exec-no-user", title="No docker exec runs with --user", needs=("execs",),
       rationale=("Exec with --user, typically as root, bypasses the non-root user the container "
                  "was designed to run as and so the privilege limits built around it."),
       references=("https://docs.docker.com/reference/cli/docker/container/exec/",
                   "https://man7.org/linux/man-pages/man8/ausearch.8.html"))
def exec_no_user(facts):
    """Searches the audit log (auditd.conf log_file, default /var/log/audit/audit.log, plus
    rotations .1 to .9) for EXECVE records of `docker ... exec` with -u/--user, and inspects the
    exec sessions the daemon still tracks. Any exec with a user FAILs; none PASSes when an audit
    log was searched, INFO without one; an unreadable log or exec session is ERROR."""
    return _verdict(facts, [r for r in facts.execs.records if r.user], "--user")
