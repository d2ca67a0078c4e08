"""An image's history read as the Dockerfile that made it: which instruction each line records, a
RUN's build arguments and shell commands, an ADD's sources.

`docker history` keeps one CreatedBy text per build step, written differently by each builder:

- the classic builder (and buildah): `/bin/sh -c #(nop)  ENV A=1` for instructions that run nothing,
  `/bin/sh -c apt-get update` for a RUN (prefixed `|2 A=1 B=2 ` when build arguments are in scope),
  `/bin/sh -c #(nop) ADD file:<sha256> in /app/ ` for ADD and COPY, which keep a hash of the source,
  not its name (`dir:` for a directory, `multi:` for several sources, a bare hash for a URL);
- BuildKit: the instruction as written, `RUN |1 A=1 /bin/sh -c apt-get update # buildkit`,
  `ADD app.tar.gz /opt/ # buildkit`, `ENV A=1` (" # buildkit" ends the steps that made a layer);
- `docker import` and `FROM scratch` base images: an empty line, or a comment (`# debian.sh ...`).

Nothing here runs or unpacks an image: what the history does not say, the checks say they cannot know.
"""
from __future__ import annotations

import functools
import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Optional

INSTRUCTIONS = frozenset({"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
                          "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"})
BUILDKIT_SUFFIX = "# buildkit"
_NOP = re.compile(r"^[^#]*#\(nop\)\s*([A-Za-z]+)\b[ \t]*(.*)$", re.DOTALL)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ARG_COUNT = re.compile(r"\|(\d+)[ \t]+")
_ARG_NAME = re.compile(rf"({_NAME})=")
# Where a RUN's command starts after its build arguments: a shell with -c (the shell form), else
# the first word after the last argument's value (the exec form).
_SHELL_START = re.compile(r"[ \t](?=(?:\S*/)?(?:ba|da|a|z|k|mk)?sh[ \t]+(?:-\S+[ \t]+|pipefail[ \t]+)*-[A-Za-z]*c[ \t]"
                          r"|cmd /S /C |(?:\S*/)?(?:powershell|pwsh)(?:\.exe)? )")
_SHELL_PREFIX = re.compile(r"^(?:(?:\S*/)?(?:ba|da|a|z|k|mk)?sh(?:[ \t]+(?:-o[ \t]+\S+|-[A-Za-z]+))*?[ \t]+-[A-Za-z]*c"
                           r"|cmd /S /C|(?:\S*/)?(?:powershell|pwsh)(?:\.exe)?(?:[ \t]+-\S+)*?[ \t]+-[Cc]ommand)[ \t]+",
                           re.DOTALL)
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"})


@dataclass(frozen=True)
class Step:
    """One history line as an instruction."""

    instruction: str          # RUN, ADD, ENV, ...; "" where the line names none (an import, a comment)
    text: str                 # what follows the instruction (a RUN: its command, without build arguments)
    form: str                 # "classic" (#(nop) lines and bare RUN lines), "buildkit" (as written), "none"
    build_args: tuple[tuple[str, str], ...] = ()   # a RUN's `|N NAME=value ...`, in order

    @property
    def made_layer(self) -> bool:
        return self.instruction in ("RUN", "ADD", "COPY") or self.form == "none"


def parse_step(created_by: str) -> Step:
    line = created_by.strip()
    if not line:
        return Step("", "", "none")
    if line.endswith(BUILDKIT_SUFFIX):
        line = line[: -len(BUILDKIT_SUFFIX)].rstrip()
    nop = _NOP.match(line)
    if nop:
        return Step(nop.group(1).upper(), nop.group(2).strip(), "classic")
    if line.startswith("#"):
        return Step("", line, "none")
    first, _, rest = line.partition(" ")
    if first in INSTRUCTIONS:
        rest = rest.strip()
        if first == "RUN":
            args, command = split_build_args(rest)
            return Step("RUN", command, "buildkit", args)
        return Step(first, rest, "buildkit")
    # The classic builder records a RUN as its command line alone.
    args, command = split_build_args(line)
    return Step("RUN", command, "classic", args)


def split_build_args(text: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """`|2 A=1 B=two words /bin/sh -c cmd` -> ((A, 1), (B, two words)), "/bin/sh -c cmd". The builders
    join the values unquoted, so a value is taken up to the next NAME= (up to the shell, for the last)."""
    return _split_build_args(text)[0:2]


def build_args_end(text: str) -> int:
    """Where a RUN's command starts in `text` (0 without build arguments)."""
    return _split_build_args(text)[2]


def _split_build_args(text: str) -> tuple[tuple[tuple[str, str], ...], str, int]:
    count = _ARG_COUNT.match(text)
    if not count:
        return (), text, 0
    wanted, pos, args = int(count.group(1)), count.end(), []
    for index in range(wanted):
        name = _ARG_NAME.match(text, pos)
        if not name:
            break
        start = name.end()
        if index < wanted - 1:
            following = re.compile(rf"[ \t](?={_NAME}=)").search(text, start)
            end = following.start() if following else len(text)
        else:
            shell = _SHELL_START.search(text, start)
            space = re.compile(r"[ \t]").search(text, start)
            end = shell.start() if shell else (space.start() if space else len(text))
        args.append((name.group(1), text[start:end]))
        pos = end + 1 if end < len(text) else end
    return tuple(args), text[pos:].lstrip(), pos


def shell_script(command: str) -> str:
    """A RUN's script: its command without the shell that runs it (`/bin/sh -c`, `bash -o pipefail
    -c`, `cmd /S /C`); an exec-form command stays as it is."""
    prefix = _SHELL_PREFIX.match(command)
    return command[prefix.end():] if prefix else command


_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&", "{", "}", "!"})


# Reserved words that open a compound command before the command they run (`if true; then x; fi`:
# `then x` runs x), and those that only close one.
_LEADING_RESERVED = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{"})
_CLOSING_RESERVED = frozenset({"fi", "done", "esac", "}"})
# `for NAME in WORDS` and `case WORD in` list words; they run nothing themselves.
_LISTING_RESERVED = frozenset({"for", "case", "select"})


def commands(script: str, depth: int = 2) -> list[list[str]]:
    """The simple commands of a shell script, as words, with `sh -c '...'` looked into, comments
    dropped and compound commands (if/then, for/do, ...) opened. Tolerant: an unbalanced quote falls
    back to splitting at operators and blanks."""
    flat = "\n".join(_without_comment(line) for line in script.replace("\\\n", " ").split("\n"))
    flat = flat.replace("\n", " ; ")
    try:
        lexer = shlex.shlex(flat, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = ""
        tokens = list(lexer)
    except ValueError:
        tokens = re.findall(r"&&|\|\||[;&|()]|[^\s;&|()]+", flat)
    out: list[list[str]] = []
    current: list[str] = []
    for token in tokens + [";"]:
        if token in _OPERATORS or (token and set(token) <= set(";&|()")):
            if current:
                out.append(current)
            current = []
        else:
            current.append(token)
    expanded: list[list[str]] = []
    for words in out:
        while words and words[0] in _LEADING_RESERVED:
            words = words[1:]
        if not words or words[0] in _LISTING_RESERVED or (len(words) == 1 and words[0] in _CLOSING_RESERVED):
            continue
        inner = _inner_script(words)
        if inner is not None and depth > 0:
            expanded.extend(commands(inner, depth - 1))
        else:
            expanded.append(words)
    return expanded


def _without_comment(line: str) -> str:
    """A line cut where sh starts a comment: a `#` that begins a word, outside quotes."""
    quote, escaped = "", False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t;&|()"):
            return line[:index]
    return line


def _inner_script(words: list[str]) -> Optional[str]:
    words = simple_command(words)
    name = posixpath.basename(words[0]) if words else ""
    if len(words) >= 3 and (name in SHELLS or name == "su"):
        for index, word in enumerate(words[1:-1], start=1):
            if (word.startswith("-") and not word.startswith("--") and word.endswith("c")) or word == "--command":
                return words[index + 1]
    return None


_WRAPPERS = frozenset({"sudo", "env", "command", "exec", "nice", "nohup", "time", "eatmydata", "builtin", "stdbuf",
                       "chroot", "su-exec", "gosu", "doas", "busybox", "timeout", "flock", "xargs", "setsid",
                       "ionice", "chrt", "taskset", "unshare", "fakeroot", "catchsegv", "strace"})
# Wrappers whose first operand is theirs, not the command's: the new root, the user, the duration,
# the lock file.
_WRAPPERS_WITH_OPERAND = frozenset({"chroot", "su-exec", "gosu", "timeout", "flock"})
# Options of wrappers that take the next word as their value (`xargs -n 1 chmod`, `timeout -s KILL 5 x`).
_WRAPPER_VALUE_OPTIONS = {"xargs": frozenset({"-I", "-n", "-P", "-L", "-s", "-d", "-E", "-a"}),
                          "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
                          "flock": frozenset({"-w", "--timeout", "-E", "--conflict-exit-code"}),
                          "sudo": frozenset({"-u", "-g", "-U", "-C", "-h", "-p", "-r", "-t"}),
                          "nice": frozenset({"-n"}), "ionice": frozenset({"-c", "-n"}),
                          "stdbuf": frozenset({"-i", "-o", "-e"}), "env": frozenset({"-u", "-C", "-S"})}
_ASSIGNMENT = re.compile(rf"^{_NAME}=")


def simple_command(words: list[str]) -> list[str]:
    """A command's words without leading assignments (`DEBIAN_FRONTEND=noninteractive apt-get ...`)
    and wrappers (sudo, env, nice ..., and busybox, which runs its applets) and their options."""
    index = 0
    while index < len(words):
        word = words[index]
        if _ASSIGNMENT.match(word):
            index += 1
        elif posixpath.basename(word) in _WRAPPERS:
            wrapper = posixpath.basename(word)
            takes_value = _WRAPPER_VALUE_OPTIONS.get(wrapper, frozenset())
            index += 1
            while index < len(words) and words[index].startswith("-"):
                index += 2 if words[index] in takes_value else 1
            if wrapper in _WRAPPERS_WITH_OPERAND:
                index += 1      # the new root, the user to run as, the duration, the lock file
        else:
            break
    return words[index:]


def program(words: list[str]) -> str:
    return posixpath.basename(words[0]) if words else ""


def operands(words: list[str]) -> list[str]:
    """A command's words after the program that are not options."""
    return [w for w in words[1:] if not w.startswith("-")]


@dataclass(frozen=True)
class Reading:
    """A history line read once: its step and, for a RUN, its simple commands."""

    step: Step
    commands: tuple[tuple[str, ...], ...] = ()


@functools.lru_cache(maxsize=16384)
def read(created_by: str) -> Reading:
    """The reading of a history line. Images share most of their lines (their base image's), and
    every image check reads them all: each distinct line is parsed once per process."""
    step = parse_step(created_by)
    if step.instruction != "RUN":
        return Reading(step)
    return Reading(step, tuple(tuple(words) for words in commands(shell_script(step.text))))


# -- ADD sources (CIS 4.9) ------------------------------------------------------------------------

URL, ARCHIVE, LOCAL, CLASSIC_FILE, DIRECTORY, SEVERAL = "url", "archive", "local", "file", "directory", "several"
_ARCHIVE = re.compile(r"\.(?:tar|tar\.(?:gz|bz2|xz|zst|lz4|lzma|Z)|tgz|tbz2?|txz|tzst|tlz)$", re.IGNORECASE)
_HASH = re.compile(r"^[0-9a-f]{64}$")


def add_sources(step: Step) -> tuple[list[str], str]:
    """An ADD or COPY step's sources and destination."""
    text = step.text
    if step.form == "classic":
        source, sep, dest = text.partition(" in ")
        return ([source.strip()] if source.strip() else []), dest.strip()
    words = [w for w in _split_words(text) if not w.startswith("--")]
    if len(words) < 2:
        return words, ""
    return words[:-1], words[-1]


def _split_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def source_kind(source: str, form: str) -> str:
    """url, archive (a tar file, which ADD unpacks), local, or for the classic builder's hashes: file
    (an archive or not: the history keeps no name), directory, several."""
    if form == "classic":
        if source.startswith("file:"):
            return CLASSIC_FILE
        if source.startswith("dir:"):
            return DIRECTORY
        if source.startswith("multi:"):
            return SEVERAL
        if _HASH.match(source):
            return URL      # a download: the classic builder records its content hash without a prefix
        return LOCAL
    if "://" in source or source.startswith("git@"):
        return URL
    return ARCHIVE if _ARCHIVE.search(source) else LOCAL


def is_root_destination(dest: str) -> bool:
    return posixpath.normpath(dest or ".") == "/"


def base_layer_index(steps: list[Step], sizes: list[int]) -> Optional[int]:
    """The index (history order: newest first) of the image's oldest layer-making step: the root file
    system of its base image, unpacked by `docker import`, `FROM scratch` + ADD, or a pull."""
    for index in range(len(steps) - 1, -1, -1):
        if sizes[index] > 0 or steps[index].made_layer:
            return index
    return None


# -- assignments (ENV, ARG, LABEL; secrets in commands) --------------------------------------------

_PAIR = re.compile(r"""(?:^|(?<=\s))("[^"]+"|[^\s="]+)=""")


def assignments(text: str) -> list[tuple[str, str, int, int]]:
    """`A=1 B=two words` -> [(A, "1", start, end), (B, "two words", ...)]: the builders write ENV,
    ARG and LABEL pairs unquoted, so a value runs to the next NAME=. (name, value, value start, value end)."""
    found = list(_PAIR.finditer(text))
    out = []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        value_end = end
        while value_end > match.end() and text[value_end - 1] in " \t":
            value_end -= 1
        out.append((match.group(1).strip('"'), text[match.end():value_end], match.end(), value_end))
    return out
