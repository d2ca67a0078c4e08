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


@check("exec-no-privileged", title="No docker exec runs with --privileged", needs=("execs",))
def exec_no_privileged(facts):
    return _verdict(facts, [r for r in facts.execs.records if r.privileged], "--privileged")


@check("exec-no-user", title="No docker exec runs with --user", needs=("execs",))
def exec_no_user(facts):
    return _verdict(facts, [r for r in facts.execs.records if r.user], "--user")
