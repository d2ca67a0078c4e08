"""Rewrite the generated parts of the reference pages from the profiles and the checks.

    .venv/bin/python docs/generate.py           rewrite every generated block that is out of date
    .venv/bin/python docs/generate.py --check   change nothing; exit 1 naming the pages out of date

A page is hand-written prose around blocks between `<!-- NAME -->` and `<!-- /NAME -->`; only
the blocks are rewritten. Every profile in profiles/ gets docs/recommendations/PROFILE-ID.md (made
from a skeleton the first time, then kept: write the edition's own notes around the block), and
docs/recommendations/README.md lists the editions. tests/test_docs.py fails when a page differs
from what this script writes, so the tables cannot drift from the profiles and checks.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Iterable

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
PAGES = DOCS / "recommendations"
INDEX = PAGES / "README.md"
TABLE, EDITIONS = "recommendations-table", "editions"

# Document this checkout, whatever copy of the package the interpreter has installed.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.check import Check  # noqa: E402
from bench.loader import CheckSet, load_checks  # noqa: E402
from bench.profile import AUTOMATION, DEFAULT_PROFILE, Profile, check_references, load_profile  # noqa: E402

# What each check looks at, for the "Inspects" column. To be replaced by each check's own
# description (see inspects() below); until then a new check needs a line here.
INSPECTS = {
    "host-docker-partition": "the mount table of the daemon's namespace: is the data root on a device other than `/`'s",
    "host-kernel-version": "`kernel_release`",
    "manual-host-hardening": "evidence: OS, kernel, the engine's security options",
    "host-listening-services": "evidence: listening TCP/UDP sockets and their processes",
    "engine-version-supported": "`docker version` against a minimum (default 28.0, "
                                "`--param engine-version-supported.minimum=`)",
    "host-docker-group-members": "evidence: members of the docker group (/etc/group, primary groups in /etc/passwd)",
    "audit-docker-daemon": "audit rules (auditctl -l, else rule files) covering `daemon-binary`, `docker-binary`",
    "audit-docker-data-root": "audit rules (auditctl -l, else rule files) covering `data-root`",
    "audit-etc-docker": "audit rules (auditctl -l, else rule files) covering `etc-docker`",
    "audit-docker-service": "audit rules (auditctl -l, else rule files) covering `docker.service`",
    "audit-docker-socket-unit": "audit rules (auditctl -l, else rule files) covering `docker.socket`",
    "audit-default-docker": "audit rules (auditctl -l, else rule files) covering `default-docker`",
    "audit-daemon-json": "audit rules (auditctl -l, else rule files) covering `daemon.json`",
    "audit-docker-containerd": "audit rules (auditctl -l, else rule files) covering `docker-containerd`",
    "audit-docker-runc": "audit rules (auditctl -l, else rule files) covering `docker-runc`",
    "daemon-icc-disabled": "daemon option `icc` (flags + daemon.json)",
    "daemon-log-level-info": "daemon option `log-level` (flags + daemon.json)",
    "daemon-iptables-enabled": "daemon option `iptables` (flags + daemon.json)",
    "daemon-no-insecure-registries": "daemon option `insecure-registries` (flags + daemon.json)",
    "engine-storage-not-aufs": "`docker info`: `Driver`",
    "daemon-tls-verify": "`hosts`, `tlsverify`, `tlscacert`, `tlscert`, `tlskey` (flags + daemon.json)",
    "daemon-default-ulimits": "daemon option `default-ulimits` (flags + daemon.json)",
    "daemon-userns-remap": "`userns-remap` (flags + daemon.json); a rootless daemon passes",
    "daemon-cgroup-parent-default": "daemon option `cgroup-parent` (flags + daemon.json)",
    "daemon-no-dm-basesize": "daemon option `storage-opts` (flags + daemon.json)",
    "daemon-authorization-plugin": "daemon option `authorization-plugins` (flags + daemon.json)",
    "daemon-remote-logging": "`log-driver` / `log-opts` (flags + daemon.json, else `docker info`)",
    "daemon-disable-legacy-registry": "engine version (v1 support gone since 17.12), else `disable-legacy-registry`",
    "file-docker-service-owner": "owner of `docker.service`, `docker.service.d`",
    "file-docker-service-mode": "mode of `docker.service`, `docker.service.d`",
    "file-docker-socket-unit-owner": "owner of `docker.socket`",
    "file-docker-socket-unit-mode": "mode of `docker.socket`",
    "file-etc-docker-owner": "owner of `etc-docker`",
    "file-etc-docker-mode": "mode of `etc-docker`",
    "file-registry-certs-owner": "owner of `registry-certs`",
    "file-registry-certs-mode": "mode of `registry-certs`",
    "file-tls-ca-owner": "owner of `tls-ca`",
    "file-tls-ca-mode": "mode of `tls-ca`",
    "file-tls-cert-owner": "owner of `tls-cert`",
    "file-tls-cert-mode": "mode of `tls-cert`",
    "file-tls-key-owner": "owner of `tls-key`",
    "file-tls-key-mode": "mode of `tls-key`",
    "file-docker-sock-owner": "owner:group of the API socket(s) against root and the daemon's `group`",
    "file-docker-sock-mode": "mode of `api-socket`",
    "file-daemon-json-owner": "owner of `daemon.json`",
    "file-daemon-json-mode": "mode of `daemon.json`",
    "file-default-docker-owner": "owner of `default-docker`",
    "file-default-docker-mode": "mode of `default-docker`",
    "container-user": "`Config.User` of each container (and the host uid of its process)",
    "images-trusted-sources": "evidence: image registries and digests",
    "images-minimal": "evidence: image sizes",
    "images-rebuilt": "evidence: image ages",
    "host-content-trust": "`DOCKER_CONTENT_TRUST` in the audit's environment",
    "container-apparmor": "`AppArmorProfile` where the engine reports AppArmor",
    "container-selinux": "`ProcessLabel`, `label=disable` where the engine reports SELinux",
    "container-capabilities": "`HostConfig.CapAdd` / `CapDrop` / `Privileged`",
    "container-not-privileged": "`HostConfig.Privileged` of each container",
    "container-sensitive-mounts": "`Mounts`: bind sources under /, /boot, /dev, /etc, /lib, /proc, /sys, /usr; "
                                  "RW fails, RO warns",
    "container-no-sshd": "host /proc: processes named sshd whose cgroup is the container's (no `docker exec`)",
    "container-no-privileged-ports": "`NetworkSettings.Ports` (running) or `HostConfig.PortBindings`: "
                                     "host port < 1024",
    "container-open-ports": "evidence: published ports; `PublishAllPorts` warns",
    "container-no-host-network": "`HostConfig.NetworkMode` of each container",
    "container-memory-limit": "`HostConfig.Memory` of each container",
    "container-cpu-shares": "`HostConfig.CpuShares` of each container",
    "container-readonly-rootfs": "`HostConfig.ReadonlyRootfs` of each container",
    "container-port-host-interface": "port bindings on 0.0.0.0 / :: / empty host IP",
    "container-restart-policy": "`HostConfig.RestartPolicy`: always / unless-stopped / on-failure > 5 fail",
    "container-no-host-pid": "`HostConfig.PidMode` of each container",
    "container-no-host-ipc": "`HostConfig.IpcMode` of each container",
    "container-no-host-devices": "`HostConfig.Devices`, `Privileged`",
    "container-no-ulimit-override": "`HostConfig.Ulimits` that differ from the daemon's `default-ulimits` "
                                    "(dockerd copies those into every container)",
    "container-no-shared-propagation": "`Mounts[].Propagation` shared / rshared",
    "container-no-host-uts": "`HostConfig.UTSMode` of each container",
    "container-seccomp": "`HostConfig.SecurityOpt` seccomp=unconfined, `Privileged`, kernel `Seccomp:` of the process",
    "exec-no-privileged": "audit log EXECVE records of `docker exec`, and exec sessions the daemon tracks",
    "exec-no-user": "audit log EXECVE records of `docker exec`, and exec sessions the daemon tracks",
    "container-default-cgroup": "`HostConfig.CgroupParent` of each container",
    "container-no-new-privileges": "`HostConfig.SecurityOpt`, kernel `NoNewPrivs:` of the process, daemon default",
    "manual-security-audits": "evidence: when this audit ran",
    "manual-container-monitoring": "evidence: monitoring agents among the containers",
    "manual-container-backup": "evidence: volumes and bind-mounted paths holding data",
    "images-sprawl": "image count, images in use, dangling images",
    "containers-sprawl": "`docker info`: containers running vs all",
}

LEGEND = """\
`automated`: a verdict from facts. `partial`: a verdict plus evidence for a human. `manual`: the
evidence for a human, always INFO."""

PAGE_SKELETON = """\
# {title}

How the auditor maps this edition onto its checks (`--profile {id}`). Other editions:
[the list](README.md).

{legend}

The table is generated by `docs/generate.py` from `profiles/{id}.yaml` and the checks: change
those and run the script, not the table.

<!-- {table} -->
<!-- /{table} -->
"""


class GenerateError(Exception):
    """A page or a profile the generator cannot work with; the message says which and why."""


def inspects(check: Check) -> str:
    """The "Inspects" cell: what the check looks at."""
    text = INSPECTS.get(check.id, "")  # once every check carries one: text = check.description
    if not text.strip():
        raise GenerateError(f"check {check.id!r} ({check.source}) does not say what it inspects")
    return text


def cell(text: str) -> str:
    """Text that stays inside one cell of a GitHub Markdown table."""
    return " ".join(text.split()).replace("|", "\\|")


def edition_counts(profile: Profile) -> str:
    counts = {kind: sum(r.automation == kind for r in profile.recommendations) for kind in AUTOMATION}
    return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)


def recommendations_block(profile: Profile, checks: CheckSet) -> str:
    check_references(profile, (c.id for c in checks))
    recs = profile.recommendations
    scored = sum(r.scored for r in recs)
    level2 = sum(r.level == 2 for r in recs)
    lines = [f"{len(recs)} recommendations in {len(profile.sections)} sections ({edition_counts(profile)}); "
             f"{scored} scored; {len(recs) - level2} at level 1, {level2} at level 2.", ""]
    for section, title in profile.sections.items():
        rows = [r for r in recs if r.section == section]
        if not rows:
            continue
        lines += [f"### {section} {cell(title)}", "",
                  "| ID | Recommendation | Scored | Level | Automation | Check | Inspects |",
                  "|---|---|---|---|---|---|---|"]
        for rec in rows:
            ids = ", ".join(f"`{c}`" for c in rec.checks)
            looks_at = "; ".join(inspects(checks[c]) for c in rec.checks)
            lines.append(f"| {rec.id} | {cell(rec.title)} | {'yes' if rec.scored else 'no'} | {rec.level} | "
                         f"{rec.automation} | {ids} | {cell(looks_at)} |")
        lines.append("")
    return "\n".join(lines[:-1]) + "\n"


def editions_block(profiles: list[Profile]) -> str:
    lines = ["| Profile (`--profile`) | Edition | Recommendations |", "|---|---|---|"]
    for profile in profiles:
        default = " (the default)" if profile.id == DEFAULT_PROFILE else ""
        lines.append(f"| [`{profile.id}`]({profile.id}.md){default} | {cell(profile.title)} | "
                     f"{len(profile.recommendations)} ({edition_counts(profile)}) |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, name: str, body: str, page: str) -> str:
    """text with the block NAME holding body; everything outside the markers is kept."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise GenerateError(f"{page}: needs one {start} line and, after it, one {end} line")
    head, rest = text.split(start)
    tail = rest.split(end)[1]
    return f"{head}{start}\n{body}{end}{tail}"


def _version_key(profile_id: str) -> list:  # type: ignore[type-arg]
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", profile_id)]


def load_profiles(repo: Path = REPO) -> list[Profile]:
    """The shipped profiles: the default first, then the others by version number."""
    profiles = [load_profile(str(path)) for path in (repo / "profiles").glob("*.yaml")]
    return sorted(profiles, key=lambda p: (p.id != DEFAULT_PROFILE, _version_key(p.id)))


def _page_name(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def render(pages: Path = PAGES, repo: Path = REPO) -> dict[Path, str]:
    """Every generated page as it should read, by path."""
    profiles = load_profiles(repo)
    checks = load_checks(builtin=repo / "checks", plugins=False)
    wanted: dict[Path, str] = {}
    for profile in profiles:
        page = pages / f"{profile.id}.md"
        text = page.read_text(encoding="utf-8") if page.exists() else PAGE_SKELETON.format(
            title=profile.title, id=profile.id, legend=LEGEND, table=TABLE)
        wanted[page] = replace_block(text, TABLE, recommendations_block(profile, checks), _page_name(page))
    index = pages / INDEX.name
    if not index.exists():
        raise GenerateError(f"{_page_name(index)} is missing: it holds the list of editions")
    wanted[index] = replace_block(index.read_text(encoding="utf-8"), EDITIONS, editions_block(profiles),
                                  _page_name(index))
    return wanted


def stale(pages: Path = PAGES, repo: Path = REPO) -> list[Path]:
    """Edition pages whose profile is gone."""
    ids = {p.id for p in load_profiles(repo)}
    return sorted(p for p in pages.glob("*.md") if p.name != INDEX.name and p.stem not in ids)


def outdated(wanted: dict[Path, str]) -> Iterable[Path]:
    for path, text in wanted.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            yield path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docs/generate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a page is out of date")
    args = parser.parse_args(argv)
    try:
        wanted = render()
    except (GenerateError, ValueError, OSError) as exc:  # ProfileError and CheckFileError are ValueErrors
        print(f"docs/generate.py: error: {exc}", file=sys.stderr)
        return 2
    changed, orphans = list(outdated(wanted)), stale()
    for path in orphans:
        print(f"{_page_name(path)}: no profile {path.stem!r} any more: remove the page", file=sys.stderr)
    if args.check:
        for path in changed:
            print(f"{_page_name(path)}: out of date; run docs/generate.py", file=sys.stderr)
        return 1 if changed or orphans else 0
    for path in changed:
        path.write_text(wanted[path], encoding="utf-8")
        print(f"wrote {_page_name(path)}")
    return 1 if orphans else 0


if __name__ == "__main__":
    sys.exit(main())
