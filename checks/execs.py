"""`docker exec` with --privileged or --user (CIS 5.22, 5.23; from v1.6.0 on 5.23, and 5.24, which
asks about --user root only): searched in the audit log, as the benchmark does, and in the exec
sessions the daemon still tracks. An audit log is evidence only where the loaded audit rules record
runs of the docker client: without such a rule the log could not have shown one, and finding none
there proves nothing."""
from __future__ import annotations

from bench.check import (check, docker_exec_recorded, errored, failed, parse_user, passed, rules_of, skipped,
                         user_is_root)

# The audit rules decide whether the audit log could hold the evidence; the docker client's path is
# a file role.
EVIDENCE = ("audit", "files")


def _verdict(facts, offending, what: str, note: str = ""):
    execs = facts.execs
    if offending:
        shown = "; ".join(f"{r.container} ({r.origin}{', user ' + r.user if r.user else ''})" for r in offending[:20])
        more = f" and {len(offending) - 20} more" if len(offending) > 20 else ""
        return failed(f"{len(offending)} docker exec {what}: {shown}{more}")
    live = sum(1 for r in execs.records if r.origin.startswith("exec session"))
    sessions = f"none of the {live} exec sessions the daemon tracks used {what}{note}"
    if facts.audit.skipped or facts.files.skipped:
        return skipped(f"{facts.audit.skipped or facts.files.skipped}; {sessions}")
    if facts.audit.error or facts.files.error:
        return errored(f"whether the audit log could show docker exec is unknown "
                       f"({facts.audit.error or facts.files.error}); {sessions}")
    if not execs.audit_log:
        return errored(f"{execs.audit_log_note}: no history of docker exec to search; {sessions}")
    clients = [facts.files.files[p].resolved or p for p in facts.files.locations.get("docker-binary", [])
               if p in facts.files.files]
    coverage = docker_exec_recorded(rules_of(facts.audit), clients)
    if coverage.status == "covered" and coverage.loaded:
        return passed(f"no docker exec {what} in {execs.audit_log}, whose rules record the docker client "
                      f"({coverage.rule}); {sessions}")
    return errored(f"{execs.audit_log} cannot show docker exec: {coverage.reason}; {sessions}")


@check("exec-no-privileged", title="No docker exec runs with --privileged", needs=("execs",), wants=EVIDENCE,
       rationale=("A privileged exec gives the new process every capability and lifts the "
                  "confinement the container was started with, even if the container itself is "
                  "not privileged."),
       references=("https://docs.docker.com/reference/cli/docker/container/exec/#privileged",
                   "https://man7.org/linux/man-pages/man8/ausearch.8.html"))
def exec_no_privileged(facts):
    """Searches the audit log (log_file of /etc/audit/auditd.conf, default /var/log/audit/audit.log,
    and its rotations .1 to .9) for EXECVE records of `docker ... exec`, and inspects every exec
    session the daemon still tracks (ExecIDs of the inspected containers). Any exec with
    --privileged FAILs. None PASSes only when the loaded audit rules record runs of the docker
    client (an execve of it, judged as the kernel evaluates the rules); without such a rule, or
    without an audit log, the log cannot hold the evidence and the check is ERROR, as it is for an
    unreadable log or exec session."""
    return _verdict(facts, [r for r in facts.execs.records if r.privileged], "--privileged")


# Which users make an exec a finding: 1.11.0 names any --user, v1.6.0 and later only root.
USERS = ("any", "root")


def _users(name: str, value: object) -> str:
    """--param exec-no-user.users=any|root."""
    text = str(value).strip().lower()
    if text not in USERS:
        raise ValueError(f"users takes {' or '.join(USERS)}, not {value!r}")
    return text


@check("exec-no-user", title="No docker exec runs with --user", needs=("execs",), wants=EVIDENCE,
       params={"users": "any"}, prepare=_users,
       rationale=("Exec with --user, typically as root, bypasses the non-root user the container "
                  "was designed to run as and so the privilege limits built around it."),
       references=("https://docs.docker.com/reference/cli/docker/container/exec/",
                   "https://man7.org/linux/man-pages/man8/ausearch.8.html"))
def exec_no_user(facts, params):
    """Searches the audit log (auditd.conf log_file, default /var/log/audit/audit.log, plus
    rotations .1 to .9) for EXECVE records of `docker ... exec` with -u/--user, and inspects the
    exec sessions the daemon still tracks. Any exec with a user FAILs; with
    --param exec-no-user.users=root (the v1.6.0 and later editions ask about root only) only one as
    root does (`root`, uid 0 however written, or an empty user part, read as runc reads it), and
    execs as a name other than root are listed in the result (root only if the container's
    /etc/passwd gives the name uid 0). None PASSes only when the loaded audit rules record runs of
    the docker client; without such a rule, or without an audit log, the log cannot hold the
    evidence and the check is ERROR."""
    users = _users("users", params.get("users", "any"))
    given = [r for r in facts.execs.records if r.user]
    if users == "any":
        return _verdict(facts, given, "--user")
    named = sorted({r.user for r in given if user_is_root(parse_user(r.user)) is None})
    note = f" (execs as {', '.join(named)}: root only if the container's /etc/passwd gives them uid 0)" if named else ""
    return _verdict(facts, [r for r in given if user_is_root(parse_user(r.user))], "--user root", note)
