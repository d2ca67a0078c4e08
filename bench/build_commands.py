"""What a RUN step's commands do, for the image checks: package managers refreshing, upgrading and
installing (CIS 4.7, 4.11), setuid and setgid bits set or stripped (4.8), and package signature or
transport checks turned off (4.11). The commands come from bench/image_history.py's reading of the
history line; nothing here runs them.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

from bench.image_history import SHELLS, operands, program, simple_command


# -- package managers (CIS 4.7, 4.11) -------------------------------------------------------------

REFRESH, UPGRADE, INSTALL = "refresh", "upgrade", "install"
_APT = {"update": REFRESH, "upgrade": UPGRADE, "dist-upgrade": UPGRADE, "full-upgrade": UPGRADE, "install": INSTALL,
        "reinstall": INSTALL, "build-dep": INSTALL, "satisfy": INSTALL}
_APK = {"update": REFRESH, "upgrade": UPGRADE, "add": INSTALL, "fix": INSTALL}
_YUM = {"makecache": REFRESH, "check-update": REFRESH, "update": UPGRADE, "upgrade": UPGRADE, "distro-sync": UPGRADE,
        "update-minimal": UPGRADE, "upgrade-minimal": UPGRADE, "install": INSTALL, "groupinstall": INSTALL,
        "localinstall": INSTALL, "reinstall": INSTALL, "group": INSTALL, "module": INSTALL}
_ZYPPER = {"refresh": REFRESH, "ref": REFRESH, "update": UPGRADE, "up": UPGRADE, "dist-upgrade": UPGRADE,
           "dup": UPGRADE, "patch": UPGRADE, "install": INSTALL, "in": INSTALL}
_MANAGERS = {"apt-get": _APT, "apt": _APT, "aptitude": _APT, "apk": _APK, "yum": _YUM, "dnf": _YUM, "microdnf": _YUM,
             "tdnf": _YUM, "dnf5": _YUM, "zypper": _ZYPPER}
# Options of these managers that take a value as the next word (so the value is no subcommand).
_VALUE_OPTIONS = frozenset({"-o", "-c", "-t", "--option", "--config-file", "--target-release", "--repo", "-X",
                            "--repository", "-p", "--root", "--setopt", "--installroot", "--releasever"})


def package_action(words: list[str]) -> Optional[tuple[str, str]]:
    """(refresh | upgrade | install, "apt-get update") for a package manager's command, else None."""
    words = simple_command(words)
    name = program(words)
    if name == "pacman":
        flags = "".join(w[1:] for w in words[1:] if w.startswith("-") and not w.startswith("--"))
        if "S" not in flags:
            return None
        if operands(words):
            return INSTALL, "pacman -S"
        return (UPGRADE, "pacman -Syu") if "u" in flags else (REFRESH, "pacman -Sy") if "y" in flags else None
    table = _MANAGERS.get(name)
    if table is None:
        return None
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
        elif word in _VALUE_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            kind = table.get(word)
            return (kind, f"{name} {word}") if kind else None
    return None


def package_actions(script_commands: Iterable[list[str]]) -> list[tuple[str, str]]:
    return [found for words in script_commands if (found := package_action(words)) is not None]


# -- setuid and setgid bits (CIS 4.8) ------------------------------------------------------------

GRANT, STRIP = "grant", "strip"
_SYMBOLIC = re.compile(r"^[ugoa]*[-+=][rwxXstugo]*(?:,[ugoa]*[-+=][rwxXstugo]*)*$")


def mode_change(mode: str) -> Optional[str]:
    """Whether a chmod mode sets (GRANT) or clears (STRIP) setuid/setgid bits, else None."""
    if re.fullmatch(r"[0-7]{1,5}", mode):
        if len(mode) < 4:
            return None     # three digits: chmod keeps a directory's bits and clears a file's; no grant
        return GRANT if int(mode, 8) & 0o6000 else None
    if not _SYMBOLIC.match(mode):
        return None
    result = None
    for clause in mode.split(","):
        who, op, perms = re.match(r"^([ugoa]*)([-+=])(.*)$", clause).groups()  # type: ignore[union-attr]
        if "s" not in perms or who == "o":
            continue
        result = STRIP if op == "-" else GRANT
    return result


def setuid_change(words: list[str]) -> Optional[str]:
    """GRANT or STRIP for a chmod or install that sets or clears setuid/setgid bits, else None."""
    words = simple_command(words)
    name = program(words)
    if name == "chmod":
        for word in words[1:]:
            if word.startswith("--"):
                continue
            # `chmod -s` / `chmod -R -s` are modes, not options
            change = mode_change(word)
            if change:
                return change
            if not word.startswith("-"):
                return None     # the mode is the first operand; the rest are files
        return None
    if name == "install":
        for index, word in enumerate(words):
            value = None
            if word in ("-m", "--mode") and index + 1 < len(words):
                value = words[index + 1]
            elif word.startswith("--mode="):
                value = word.split("=", 1)[1]
            elif word.startswith("-m") and len(word) > 2:
                value = word[2:]
            if value and mode_change(value) == GRANT:
                return GRANT
    return None


SETUID, SETGID = 0o4000, 0o2000
_BOTH = SETUID | SETGID


def _who_bits(who: str) -> int:
    bits = 0
    if not who or "a" in who or "u" in who:
        bits |= SETUID
    if not who or "a" in who or "g" in who:
        bits |= SETGID
    return bits


def _selected_bits(perm: str) -> int:
    """Which of the setuid and setgid bits every file a `find -perm` selects by, taken together,
    covers: /6000 (any bit) selects the files with either, so both; -4000 (all bits) the setuid
    ones; -6000 only the files with both, so neither kind wholly; an exact mode, neither."""
    prefix, bare = perm[:1], perm.lstrip("-/+")
    if re.fullmatch(r"[0-7]+", bare):
        mask = int(bare, 8) & _BOTH
    else:
        mask = 0
        for clause in bare.split(","):
            match = re.fullmatch(r"([ugoa]*)[=+]([a-zA-Z]*)", clause)
            if match and "s" in match.group(2):
                mask |= _who_bits(match.group(1))
    if prefix in ("/", "+"):
        return mask
    if prefix == "-":
        return mask if mask in (SETUID, SETGID) else 0
    return 0


def _cleared_bits(words: list[str]) -> int:
    """The setuid/setgid bits a chmod clears on the files it is given (`a-s`, `-s`: both; `u-s`:
    setuid; `0755`: both); other commands clear none."""
    words = simple_command(words)
    if program(words) != "chmod":
        return 0
    for word in words[1:]:
        if word.startswith("--"):
            continue
        if re.fullmatch(r"[0-7]{4,5}", word):
            return 0 if int(word, 8) & _BOTH else _BOTH
        if _SYMBOLIC.match(word):
            bits = 0
            for clause in word.split(","):
                who, op, perms = re.match(r"^([ugoa]*)([-+=])(.*)$", clause).groups()  # type: ignore[union-attr]
                if op == "-" and "s" in perms:
                    bits |= _who_bits(who)
            return bits
        if not word.startswith("-"):
            return 0
    return 0


def _stripped_bits(script_commands: list[list[str]], index: int) -> int:
    """The bits a `find / -perm ... -exec chmod a-s` (or `| xargs chmod a-s`) at `index` clears from
    every file of the whole file system that has them; 0 for any other command."""
    words = simple_command(script_commands[index])
    if program(words) != "find" or "/" not in words[1:3]:
        return 0
    selected = 0
    for i, word in enumerate(words[:-1]):
        if word == "-perm":
            selected |= _selected_bits(words[i + 1])
    if not selected:
        return 0
    cleared = 0
    for action in ("-exec", "-execdir"):
        if action in words:
            cleared |= _cleared_bits(words[words.index(action) + 1:])
    following = script_commands[index + 1] if index + 1 < len(script_commands) else []
    if program(following) == "xargs":
        cleared |= _cleared_bits(following)
    return selected & cleared


def setuid_effect(script_commands: list[list[str]]) -> tuple[bool, bool]:
    """One RUN's commands in order: (whether a setuid/setgid grant is left standing, whether the
    bits end up stripped from the whole file system). A grant after the strip stands; a strip of
    only setuid files (-perm -4000 ... chmod u-s) leaves setgid ones, and is no whole strip."""
    granted, stripped = False, 0
    for index, words in enumerate(script_commands):
        if setuid_change(words) == GRANT:
            granted, stripped = True, 0
        stripped |= _stripped_bits(script_commands, index)
        if stripped == _BOTH:
            granted = False
    return granted, stripped == _BOTH


def strips_setuid_everywhere(script_commands: list[list[str]]) -> bool:
    """Whether a RUN ends with setuid and setgid bits stripped from the whole file system."""
    return setuid_effect(script_commands)[1]


# -- signature and transport verification (CIS 4.11) ---------------------------------------------

def verification_bypasses(script_commands: list[list[str]], text: str) -> tuple[list[str], list[str]]:
    """(what turns off a package manager's signature check, what fetches or runs code unverified)."""
    off: list[str] = []
    risky: list[str] = []
    lowered = text.lower()
    if "[trusted=yes]" in lowered:
        off.append("an APT source marked [trusted=yes]")
    if re.search(r"allowunauthenticated\s*[= ]\s*\"?(?:1|true|yes)", lowered):
        off.append("APT::Get::AllowUnauthenticated")
    if re.search(r"\bgpgcheck\s*=\s*(?:0|false|no)\b", lowered):
        off.append("gpgcheck=0")
    for index, words in enumerate(script_commands):
        words = simple_command(words)
        name = program(words)
        flags = set(words[1:])
        if name in ("apt-get", "apt", "aptitude"):
            off += [f"{name} {f}" for f in ("--allow-unauthenticated", "--force-yes", "--allow-insecure-repositories")
                    if f in flags]
        elif name in ("yum", "dnf", "microdnf", "tdnf", "dnf5"):
            off += [f"{name} --nogpgcheck"] if "--nogpgcheck" in flags else []
        elif name == "zypper":
            off += [f"zypper {f}" for f in ("--no-gpg-checks", "--gpg-auto-import-keys") if f in flags]
        elif name == "rpm":
            off += [f"rpm {f}" for f in ("--nosignature", "--nodigest") if f in flags]
        elif name == "apk":
            off += ["apk --allow-untrusted"] if "--allow-untrusted" in flags else []
        elif name in ("pip", "pip3") or (name.startswith("python") and "pip" in words[1:3]):
            off += ["pip --trusted-host"] if any(w.startswith("--trusted-host") for w in words) else []
        elif name == "dpkg" and any(w in ("-i", "--install") for w in words):
            risky.append("dpkg -i (a package file installed without a signature check)")
        elif name == "curl" and flags & {"-k", "--insecure"}:
            risky.append("curl --insecure")
        elif name == "wget" and "--no-check-certificate" in flags:
            risky.append("wget --no-check-certificate")
        if name in ("curl", "wget") and index + 1 < len(script_commands):
            runner = program(simple_command(script_commands[index + 1]))
            if runner in SHELLS or runner in ("python", "python3", "perl"):
                risky.append(f"{name} piped into {runner}")
    return off, risky
