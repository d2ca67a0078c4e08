"""What each image's build left in its config and history (CIS v1.6.0+ 4.6-4.11).

The history is read as the Dockerfile that made it (bench/image_history.py), in the classic
builder's form and BuildKit's. It covers every step of the image, its base image's included: a
finding in a base layer is the image's too, as it carries it. Positions are "history line N", the
line of `docker history --no-trunc IMAGE` (newest first). Nothing is ever shown of a value: the
collector kept none (bench/redact.py).
"""
from __future__ import annotations

import functools
from typing import Callable

from bench.check import (INSTALL, REDACTED, REDACTION_MARKER, CheckResult, ImageDetails, Item, Outcome, Status,
                         add_sources, assignments, base_layer_index, check, errored, failed, image_details, info,
                         is_root_destination, is_secret_name, package_actions, passed, read_history_line, rollup,
                         setuid_effect, skipped, source_kind, verification_bypasses, warned)

DOCKERFILE = "https://docs.docker.com/reference/dockerfile/"
BEST_PRACTICES = "https://docs.docker.com/build/building/best-practices/"
HISTORY = "https://docs.docker.com/reference/cli/docker/image/history/"


def _line(index: int) -> str:
    return f"history line {index + 1}"


def _per_image(check_id: str, facts, judge: Callable[[ImageDetails], Outcome], needs_config: bool = False,
               needs_history: bool = True) -> CheckResult:
    """One item per image: its verdict, or ERROR where its inspect or history failed."""
    images = image_details(facts)
    if isinstance(images, Outcome):
        return CheckResult(check_id, images.status, images.detail)
    items = []
    for name, _, details in images:
        if details is None:
            outcome = errored("not inspected (listed after the inspections)")
        elif needs_config and details.config is None:
            outcome = errored(details.config_error or "image config not collected")
        elif needs_history and details.history is None:
            outcome = errored(details.history_error or "image history not collected")
        else:
            try:
                outcome = judge(details)
            except Exception as exc:  # one image's odd history must not hide the others
                outcome = errored(f"check raised {type(exc).__name__}: {exc}")
        items.append(Item(name, outcome.status, outcome.detail))
    return rollup(check_id, items, none=skipped("no images on this host"))


def _runs(details: ImageDetails):
    """(history index, step, its simple commands) of each RUN line."""
    for index, entry in enumerate(details.history or []):
        reading = read_history_line(entry.created_by)
        if reading.step.instruction == "RUN":
            yield index, reading.step, reading.commands


@check("image-healthcheck", title="Images define a HEALTHCHECK", needs=("image_details",),
       rationale=("Without a health check the engine only knows whether a container's process runs, "
                  "not whether it serves: a hung service stays 'up', and orchestrators cannot replace it."),
       references=(f"{DOCKERFILE}#healthcheck", "https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Image/operation/ImageInspect"))
def image_healthcheck(facts):
    """Per image (listed, and the audited containers' own): Config.Healthcheck from its inspect.
    PASS when it names a test (CMD or CMD-SHELL); FAIL when there is none, or HEALTHCHECK NONE switches
    an inherited one off. A --health-cmd given to one container does not change the image (5.27)."""
    def judge(details: ImageDetails) -> Outcome:
        test = details.config.healthcheck if details.config else None
        if not test:
            return failed("no HEALTHCHECK in the image")
        if test[0] == "NONE":
            return failed("HEALTHCHECK NONE: the health check is switched off")
        return passed(f"HEALTHCHECK {test[0]}")

    return _per_image("image-healthcheck", facts, judge, needs_config=True, needs_history=False)


@check("image-no-update-alone", title="No package index update alone in a RUN instruction", needs=("image_details",),
       rationale=("A RUN that only refreshes the package index (apt-get update) is cached as a layer of "
                  "its own: later builds reuse the stale index, so the install in the next RUN gets old "
                  "packages, or fails. Updating and installing in one RUN keeps them together."),
       references=(f"{BEST_PRACTICES}#apt-get", HISTORY))
def image_no_update_alone(facts):
    """Per image, each RUN of its history (classic and BuildKit forms; `sh -c '...'` looked into):
    FAIL when a RUN's package-manager commands are only index updates or upgrades (apt-get update or
    upgrade, apk update, yum/dnf update or makecache, zypper refresh, pacman -Sy) with no install in
    the same RUN; PASS otherwise. The base image's RUN lines count too: they are in the image."""
    def judge(details: ImageDetails) -> Outcome:
        alone, runs = [], 0
        for index, _, script in _runs(details):
            runs += 1
            actions = package_actions(script)
            if actions and all(kind != INSTALL for kind, _ in actions):
                names = ", ".join(dict.fromkeys(label for _, label in actions))
                alone.append(f"{_line(index)}: {names} without an install in the same RUN")
        if alone:
            return failed("; ".join(alone))
        return passed(f"no update instruction alone ({runs} RUN line{'s' if runs > 1 else ''})" if runs else "no RUN instruction")

    return _per_image("image-no-update-alone", facts, judge)


@check("image-setuid-setgid", title="Images carry no setuid or setgid files they do not need", needs=("image_details",),
       rationale=("A setuid or setgid program runs with its owner's or group's rights whoever starts it: "
                  "inside a container it is a ready step from an application user to root. Images "
                  "should strip the bits except where a program needs them."),
       references=(f"{BEST_PRACTICES}", "https://man7.org/linux/man-pages/man2/chmod.2.html", HISTORY))
def image_setuid_setgid(facts):
    """Per image, from its history (the audit never runs, exports or unpacks an image, so it cannot
    list the files): FAIL when a RUN grants setuid or setgid bits (chmod u+s, g+s, +s, 4755, 2755;
    install -m 4755) and no later whole-file-system strip undoes it (within a RUN, in the order its
    commands run); PASS when a RUN strips both bits from the whole file system (find / -perm /6000
    ... chmod a-s; a strip of setuid files only leaves the setgid ones) and no later step adds files; otherwise
    INFO: the base layers, packages and copied files may still carry them, for a human to list."""
    def judge(details: ImageDetails) -> Outcome:
        history = details.history or []
        grants, strips = [], []
        for index, _, script in _runs(details):
            granted, stripped = setuid_effect(script)
            if stripped:
                strips.append(index)
            if granted:
                grants.append(index)
        newest_strip = min(strips) if strips else None
        live = [g for g in grants if newest_strip is None or g < newest_strip]
        if live:
            return failed("; ".join(f"{_line(g)} sets setuid/setgid bits" for g in sorted(live, reverse=True)))
        if newest_strip is not None:
            added = [i for i in range(newest_strip) if history[i].size > 0]
            if not added:
                return passed(f"{_line(newest_strip)} strips setuid/setgid bits from the whole file system, "
                              "and no later step adds files")
            return info(f"{_line(newest_strip)} strips setuid/setgid bits, but later steps add files "
                        f"({', '.join(_line(i) for i in added)}); list them with "
                        "`find / -xdev -perm /6000 -type f` in a container of the image")
        return info("the history grants no setuid/setgid bit; files from the base image, packages and "
                    "copies may still carry them (the audit does not run or unpack images): list them with "
                    "`find / -xdev -perm /6000 -type f` in a container of the image")

    return _per_image("image-setuid-setgid", facts, judge)


@check("image-copy-not-add", title="COPY, not ADD, puts files into images", needs=("image_details",),
       rationale=("ADD also downloads URLs and unpacks archives, so an ADD can bring in content nobody "
                  "reviewed (a changed download, an archive's unexpected paths). COPY only copies from "
                  "the build context, which is what most ADDs are for."),
       references=(f"{BEST_PRACTICES}#add-or-copy", f"{DOCKERFILE}#add"))
def image_copy_not_add(facts):
    """Per image, each ADD of its history. Not counted: the oldest layer when it is an ADD to / (how
    a base image unpacks its root file system: `ADD file:... in /`, `ADD rootfs.tar.gz /`). FAIL for an
    ADD of a URL, of local files or directories (COPY does the same); WARN for an ADD of an archive,
    which ADD unpacks and COPY cannot (wanted or not is the author's call), for a URL verified with
    --checksum, and for the classic builder's `ADD file:<hash>`, whose history keeps no name to tell
    an archive from a plain file. PASS without other ADDs."""
    def judge(details: ImageDetails) -> Outcome:
        history = details.history or []
        steps = [read_history_line(entry.created_by).step for entry in history]
        base = base_layer_index(steps, [entry.size for entry in history])
        findings: list[tuple[Status, str]] = []
        base_add = False
        for index, step in enumerate(steps):
            if step.instruction != "ADD":
                continue
            sources, dest = add_sources(step)
            if index == base and is_root_destination(dest):
                base_add = True
                continue
            kinds = {source_kind(source, step.form) for source in sources} or {"local"}
            where = _line(index)
            if "url" in kinds:
                if "--checksum" in step.text:
                    findings.append((Status.WARN, f"{where}: ADD of a URL checked against --checksum"))
                else:
                    findings.append((Status.FAIL, f"{where}: ADD of a URL (fetched unverified at build time)"))
            elif kinds <= {"archive"}:
                findings.append((Status.WARN, f"{where}: ADD of an archive, which ADD unpacks and COPY would not"))
            elif kinds <= {"archive", "file"}:
                findings.append((Status.WARN, f"{where}: ADD of a file (the classic builder keeps no name: "
                                              "COPY does the same unless it is an archive to unpack)"))
            else:
                findings.append((Status.FAIL, f"{where}: ADD of local files or directories, which COPY copies alike"))
        if findings:
            worst = Status.FAIL if any(s == Status.FAIL for s, _ in findings) else Status.WARN
            text = "; ".join(detail for _, detail in findings)
            return failed(text) if worst == Status.FAIL else warned(text)
        if base_add:
            return passed(f"no ADD but the base layer's root file system ({_line(base)})")
        return passed("no ADD instruction")

    return _per_image("image-copy-not-add", facts, judge)


def _redacted_names(text: str) -> list[str]:
    """Names whose value the collector redacted in a command: NAME=<redacted>, --option <redacted>."""
    names = []
    for name, value, _, _ in assignments(text):
        if value == REDACTED or value.startswith(REDACTED):
            names.append(name.rsplit(" ", 1)[-1])
    words = text.split()
    for index, word in enumerate(words):
        if word.startswith("--") and "=" in word and word.split("=", 1)[1].startswith(REDACTED):
            names.append(word.split("=", 1)[0])
        elif word.startswith("--") and index + 1 < len(words) and words[index + 1].startswith(REDACTED):
            names.append(word)
        elif word.startswith("-p") and word[2:].startswith(REDACTED):
            names.append("-p (a password)")
    return names


@functools.lru_cache(maxsize=16384)
def _line_secrets(created_by: str) -> tuple[tuple[str, str], ...]:
    """(name, where in the line) of each secret one history line shows; images share most lines."""
    found: list[tuple[str, str]] = [(f"a {kind.replace('-', ' ')}", "") for kind in REDACTION_MARKER.findall(created_by)]
    step = read_history_line(created_by).step
    found += [(name, "build argument in ") for name, value in step.build_args
              if value == REDACTED and is_secret_name(name)]
    if step.instruction in ("ENV", "ARG", "LABEL"):
        pairs = assignments(step.text)
        if not pairs and step.text.endswith(f" {REDACTED}"):
            pairs = [(step.text.split(" ", 1)[0], REDACTED, 0, 0)]
        found += [(name, f"{step.instruction} in ") for name, value, _, _ in pairs
                  if value == REDACTED and is_secret_name(name)]
    elif step.instruction in ("RUN", "ADD", "COPY", "ONBUILD"):
        found += [(name, f"{step.instruction} in ") for name in _redacted_names(step.text)]
    return tuple(found)


def secrets_in(details: ImageDetails) -> list[str]:
    """Where an image's history and config show a secret: names and positions only."""
    found: dict[str, list[str]] = {}

    def add(name: str, where: str) -> None:
        places = found.setdefault(name, [])
        if where not in places:
            places.append(where)

    for index, entry in enumerate(details.history or []):
        for name, prefix in _line_secrets(entry.created_by):
            add(name, prefix + _line(index))
    config = details.config
    if config is not None:
        for name, has_value in config.env.items():
            if has_value and is_secret_name(name):
                add(name, "Config.Env")
        for name, has_value in config.labels.items():
            if has_value and is_secret_name(name):
                add(name, "Config.Labels")
    return [f"{name} ({', '.join(places)})" for name, places in found.items()]


@check("image-no-secrets-in-history", title="No secrets in image history or config", needs=("image_details",),
       rationale=("Anyone who can pull or inspect an image can read its history and config: a password "
                  "passed as a build argument, set with ENV, or typed into a RUN stays readable there "
                  "for the life of the image, even when a later step unsets it."),
       references=("https://docs.docker.com/build/building/secrets/", HISTORY))
def image_no_secrets_in_history(facts):
    """Per image, its history and Config.Env / Config.Labels names: FAIL when a variable, build
    argument, label or option whose name says it holds a secret (PASSWORD, TOKEN, SECRET, API_KEY,
    ...; not *_FILE or *_PATH, which point at one) has a value there, or a credential of a known form
    (a private key, a GitHub, GitLab, Slack, AWS, Google, npm, PyPI or Stripe token, a password in a
    URL or an Authorization header) appears; names and positions only, never a value. PASS
    otherwise (files copied into layers are not read)."""
    def judge(details: ImageDetails) -> Outcome:
        found = secrets_in(details)
        if found:
            return failed("secret values in the image: " + "; ".join(found))
        return passed("no secret-named value or credential in the history or config")

    return _per_image("image-no-secrets-in-history", facts, judge, needs_config=True)


@check("image-verified-packages", title="Images install only verified packages (evidence)", needs=("image_details",),
       rationale=("Package managers check each package's signature against keys the image trusts; "
                  "switching that off, or running a downloaded script, installs code nobody verified."),
       references=("https://wiki.debian.org/SecureApt", f"{BEST_PRACTICES}#apt-get", HISTORY))
def image_verified_packages(facts):
    """Per image, each RUN of its history: FAIL when it turns a package manager's signature check off
    (apt --allow-unauthenticated or [trusted=yes], yum/dnf --nogpgcheck or gpgcheck=0, zypper
    --no-gpg-checks, rpm --nosignature, apk --allow-untrusted, pip --trusted-host); WARN for a download
    piped into a shell, TLS checks switched off (curl -k, wget --no-check-certificate) or a package
    file installed with dpkg -i; otherwise INFO with the package installs seen, for a human to
    review which repositories and keys they trust."""
    def judge(details: ImageDetails) -> Outcome:
        off: list[str] = []
        risky: list[str] = []
        installs: list[str] = []
        for index, step, script in _runs(details):
            disabled, unverified = verification_bypasses(script, step.text)
            off += [f"{what} ({_line(index)})" for what in disabled]
            risky += [f"{what} ({_line(index)})" for what in unverified]
            installs += [label for kind, label in package_actions(script) if kind == INSTALL]
        if off:
            return failed("signature checks switched off: " + "; ".join(off))
        if risky:
            return warned("unverified code installed: " + "; ".join(risky))
        if installs:
            counts = {label: installs.count(label) for label in dict.fromkeys(installs)}
            shown = ", ".join(f"{label} x{n}" if n > 1 else label for label, n in counts.items())
            return info(f"package installs: {shown}; none switches signature checks off. Review the "
                        "repositories and keys the image trusts")
        return info("no package install in the history")

    return _per_image("image-verified-packages", facts, judge)
