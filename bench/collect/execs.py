"""`docker exec` history for CIS 5.22 / 5.23, from two places:

- the audit log, where the section 1 audit rules record each run of the docker client (EXECVE
  records carry its arguments), as the benchmark's own audit (`ausearch -k docker`) does;
- exec sessions the daemon still tracks (a container's ExecIDs), which the Engine API describes.

Only the container and the --privileged / --user flags are kept, never the command that ran.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

from bench.engine_api.errors import describe_api_error
from bench.engine_api.session import EngineSession
from bench.facts import ContainersFacts, ExecRecord, ExecsFacts
from bench.hostio import Host

AUDITD_CONF = "/etc/audit/auditd.conf"
DEFAULT_AUDIT_LOG = "/var/log/audit/audit.log"
MAX_ROTATED = 9
MAX_LOG_BYTES = 256 * 1024 * 1024

_EXECVE = re.compile(r"type=EXECVE msg=audit\(([0-9.]+):\d+\):(.*)")
_ARG = re.compile(r'\ba(\d+)=("(?:[^"]*)"|[0-9A-Fa-f]+|\(null\))')
# docker exec options that take a value (the container is the first word that is not an option).
_VALUE_OPTIONS = {"-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir", "--detach-keys"}


def audit_log_path(host: Host) -> str:
    try:
        for line in host.read_text(AUDITD_CONF).splitlines():
            key, eq, value = line.partition("=")
            if eq and key.strip() == "log_file" and value.strip():
                return value.strip()
    except OSError:
        pass
    return DEFAULT_AUDIT_LOG


def _decode_arg(raw: str) -> str:
    if raw.startswith('"'):
        return raw[1:-1]
    if raw == "(null)":
        return ""
    try:
        return bytes.fromhex(raw).decode("utf-8", "replace")
    except ValueError:
        return raw


def parse_exec_args(args: list[str]) -> Optional[tuple[str, bool, str]]:
    """(container, privileged, user) from a docker client argv, if it is `docker ... exec ...`."""
    if not args or args[0].rsplit("/", 1)[-1] != "docker" or "exec" not in args[1:]:
        return None
    words = args[args.index("exec", 1) + 1:]
    privileged, user = False, ""
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--privileged" or word == "--privileged=true":
            privileged = True
        elif word in ("-u", "--user") and i + 1 < len(words):
            user = words[i + 1]
            i += 1
        elif word.startswith("--user="):
            user = word.split("=", 1)[1]
        elif word.startswith("-u") and len(word) > 2 and not word.startswith("--"):
            user = word[2:].lstrip("=")
        elif word in _VALUE_OPTIONS:
            i += 1
        elif not word.startswith("-"):
            return word, privileged, user
        i += 1
    return None


def parse_audit_log(lines: Iterable[str], origin: str) -> list[ExecRecord]:
    records = []
    for line in lines:
        match = _EXECVE.search(line)
        if not match:
            continue
        args = {int(n): _decode_arg(v) for n, v in _ARG.findall(match.group(2))}
        argv = [args[i] for i in sorted(args)]
        parsed = parse_exec_args(argv)
        if parsed:
            container, privileged, user = parsed
            records.append(ExecRecord(container=container, privileged=privileged, user=user, origin=origin,
                                      time=match.group(1)))
    return records


def _read_audit_logs(host: Host, facts: ExecsFacts) -> None:
    path = audit_log_path(host)
    paths = [path] + [f"{path}.{n}" for n in range(1, MAX_ROTATED + 1)]
    read = []
    for candidate in paths:
        try:
            text = host.read_text(candidate, limit=MAX_LOG_BYTES)
        except FileNotFoundError:
            continue
        except PermissionError:
            facts.error = f"cannot read the audit log {candidate}: permission denied"
            return
        except OSError as exc:
            facts.error = f"cannot read the audit log {candidate}: {exc.strerror or exc}"
            return
        read.append(candidate)
        facts.records += parse_audit_log(text.splitlines(), f"audit log {candidate}")
    if read:
        facts.audit_log = ", ".join(read)
    else:
        facts.audit_log_note = f"no audit log at {path} (auditd is not installed or not logging)"


def collect_execs(host: Host, session: EngineSession, containers: ContainersFacts, local: bool) -> ExecsFacts:
    facts = ExecsFacts(error=None)
    if local:
        _read_audit_logs(host, facts)
        if facts.error:
            return facts
    else:
        facts.audit_log_note = "the engine is remote: its host's audit log cannot be read from here"
    for container in containers.items:
        for exec_id in container.inspect.get("ExecIDs") or []:
            try:
                data = session.client().exec_inspect(exec_id)
            except Exception as exc:
                if "404" in str(exc) or "no such exec" in str(exc).lower():
                    continue  # finished and forgotten since the container was inspected
                facts.error = f"cannot inspect exec session {exec_id[:12]}: {describe_api_error(exc)}"
                return facts
            process = data.get("ProcessConfig") or {}
            facts.records.append(ExecRecord(
                container=container.name, privileged=bool(process.get("privileged")), user=str(process.get("user") or ""),
                origin=f"exec session {exec_id[:12]} (tracked by the daemon)"))
    return facts
