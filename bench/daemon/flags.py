"""dockerd's command line, read as dockerd's own flag parser reads it.

Two parsers, by generation (see options.py): spf13/pflag for `dockerd` since Engine 1.13, and
Docker's pkg/mflag for `docker daemon`, `docker -d` and Engine 1.12's `dockerd`. They differ where
it matters for an audit: pflag reads `-Dl debug` as -D plus -l debug and `-lD` as log level "D";
mflag reads `-lD debug` as -l debug plus -D, loses the value of `-Dl=debug`, accepts `-icc=false`
for a handful of old options, and stops reading flags at the first argument that is not one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from bench.daemon.options import (CONTROL_NAMES, FLAG_TABLES, MFLAG, OPTIONS, PFLAG, ConfigError, Setting,
                                  format_value)
from bench.daemon.go_values import go_parse_bool, go_parse_int, parse_ulimit
from bench.versions import VersionError, parse_version

# Engine 1.12 was the last release whose daemon parsed its flags with mflag.
LAST_MFLAG_RELEASE = (1, 12)
# Engines 17.06-20.10 stripped one pair of quotes from --tlscacert/--tlscert/--tlskey
# (opts.QuotedString); 23.0 made them plain strings.
QUOTED_TLS_PATHS_UNTIL = (23, 0)


@dataclass(frozen=True)
class FlagUse:
    """One flag as the parser set it: which, to what text, and how the argv wrote it."""
    spelling: str            # the flag matched: "-D", "--icc", "-icc" (mflag)
    key: Optional[str]       # the option's daemon.json key; None for a control flag (--config-file)
    kind: str
    value: str               # the text the parser hands to the flag ("true" for a bare bool flag)
    text: str                # as written: "-Dl info", "--icc=false"


@dataclass
class ParsedArgs:
    uses: list[FlagUse]
    positional: list[str]
    notes: list[str]


def strip_daemon_command(argv: list[str]) -> list[str]:
    """The daemon's own options: drop `dockerd`, or `docker daemon` (Engine 1.8-1.11) or `docker -d`
    (before 1.8, where -d was a flag of the docker command and may also stand later: the parser
    knows it as a control flag)."""
    if not argv:
        return []
    rest = list(argv[1:])
    if _program(argv) == "docker" and rest and rest[0] in ("daemon", "-d", "--daemon"):
        rest = rest[1:]
    return rest


def _program(argv: list[str]) -> str:
    return argv[0].rsplit("/", 1)[-1] if argv else ""


def generation_of(argv: list[str], engine_version: Any = None) -> str:
    """Which parser read this command line: `docker ...` is always mflag; `dockerd` is pflag except
    Engine 1.12's, when the engine's version is known."""
    if _program(argv) == "docker":
        return MFLAG
    version = engine_version_tuple(engine_version)
    if version is not None and version[:2] <= LAST_MFLAG_RELEASE:
        return MFLAG
    return PFLAG


def engine_version_tuple(value: Any) -> Optional[tuple[int, ...]]:
    """The engine version as numbers (\"20.10.24+dfsg1\" -> (20, 10, 24)); None when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, tuple):
        return value
    try:
        return parse_version(value)
    except VersionError:
        return None


def parse_flags(argv: list[str], generation: Optional[str] = None,
                engine_version: Any = None) -> tuple[dict[str, Setting], dict[str, Any], list[str]]:
    """Read the daemon's argv as its flag parser does.

    Returns (settings by daemon.json key, control flags such as --config-file, notes). Raises
    ConfigError where dockerd would have refused to start: a value its flag rejects, a flag that
    needs a value and has none, an argument that is no flag (dockerd takes none).
    """
    generation = generation or generation_of(argv, engine_version)
    parsed = parse_args(strip_daemon_command(argv), generation)
    if parsed.positional:
        # pflag: cobra's NoArgs (moby daemon/command/docker.go, required.go); mflag:
        # daemonFlags.Require(flag.Exact, 0) (v1.11.2 docker/daemon.go). A bool flag takes its value
        # only as --flag=value, so `--icc false` is --icc plus a stray "false".
        raise ConfigError(f"dockerd accepts no arguments, and the command line has "
                          f"{', '.join(repr(p) for p in parsed.positional)}: a bool flag takes its value "
                          "only as --flag=value")
    settings: dict[str, Setting] = {}
    control: dict[str, Any] = {}
    notes = list(parsed.notes)
    given = {use.key for use in parsed.uses}
    if {"graph", "data-root"} <= given:
        # cmd/dockerd/daemon.go loadDaemonCliConfig (17.06-20.10); -g is gone from 23.0.
        raise ConfigError('dockerd refuses both "--graph" and "--data-root"')
    quoted_tls = generation == PFLAG and _quotes_tls_paths(engine_version)
    for use in parsed.uses:
        value = _flag_value(use)
        if use.key is None:
            control[CONTROL_NAMES.get(use.spelling, use.spelling)] = value
            continue
        if quoted_tls and use.key in ("tlscacert", "tlscert", "tlskey"):
            value = _trim_quotes(value)
        settings[use.key] = _accumulate(settings.get(use.key), use, value)
    return settings, control, notes


def _quotes_tls_paths(engine_version: Any) -> bool:
    version = engine_version_tuple(engine_version)
    return version is not None and (17, 6) <= version[:2] < QUOTED_TLS_PATHS_UNTIL


def _trim_quotes(value: str) -> str:
    for quote in ("'", '"'):
        if len(value) >= 2 and value[0] == quote and value[-1] == quote:
            return value[1:-1]
    return value


# -- pflag (spf13/pflag flag.go: parseArgs, parseLongArg, parseShortArg, parseSingleShortArg) -------

def parse_args(args: list[str], generation: str) -> ParsedArgs:
    return _parse_mflag(args) if generation == MFLAG else _parse_pflag(args)


def _parse_pflag(args: list[str]) -> ParsedArgs:
    table = FLAG_TABLES[PFLAG]
    out = ParsedArgs([], [], [])
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if len(arg) < 2 or arg[0] != "-":
            # Interspersed: pflag keeps reading flags after an argument.
            out.positional.append(arg)
            continue
        if arg == "--":
            out.positional.extend(args[i:])
            break
        if arg[1] == "-":
            i = _pflag_long(arg, args, i, table, out)
        else:
            i = _pflag_short(arg, args, i, table, out)
    return out


def _pflag_long(arg: str, args: list[str], i: int, table: dict, out: ParsedArgs) -> int:
    name = arg[2:]
    if not name or name[0] in "-=":
        raise ConfigError(f"bad flag syntax: {arg}")
    flag, eq, inline = name.partition("=")
    spelling = "--" + flag
    entry = table.get(spelling)
    if entry is None:
        return _unknown(spelling, arg, bool(eq), args, i, out)
    key, kind = entry
    if eq:
        value, text = inline, arg
    elif kind == "bool":
        value, text = "true", arg
    elif i < len(args):
        # pflag takes the next argument whatever it is, even one that looks like a flag.
        value, text = args[i], f"{arg} {args[i]}"
        i += 1
    else:
        raise ConfigError(f"flag {arg} needs a value")
    out.uses.append(FlagUse(spelling, key, kind, value, text))
    return i


def _pflag_short(arg: str, args: list[str], i: int, table: dict, out: ParsedArgs) -> int:
    shorthands = arg[1:]
    consumed: Optional[str] = None
    uses: list[FlagUse] = []
    while shorthands:
        letter = shorthands[0]
        spelling = "-" + letter
        entry = table.get(spelling)
        if entry is None:
            if len(shorthands) > 1 and shorthands[1] != "=":
                # Whether the rest of the cluster is this flag's value or more flags depends on a
                # flag this auditor does not know.
                raise ConfigError(f"unknown shorthand flag {spelling!r} in {arg}: the rest of it cannot be read")
            i = _unknown(spelling, arg, len(shorthands) > 1, args, i, out)
            break
        key, kind = entry
        if len(shorthands) > 2 and shorthands[1] == "=":
            value, shorthands = shorthands[2:], ""
        elif kind == "bool":
            value, shorthands = "true", shorthands[1:]
        elif len(shorthands) > 1:
            value, shorthands = shorthands[1:], ""
        elif i < len(args):
            value, consumed, shorthands = args[i], args[i], ""
            i += 1
        else:
            raise ConfigError(f"flag {spelling} (in {arg}) needs a value")
        uses.append(FlagUse(spelling, key, kind, value, ""))
    text = arg if consumed is None else f"{arg} {consumed}"
    out.uses.extend(FlagUse(u.spelling, u.key, u.kind, u.value, text) for u in uses)
    return i


def _unknown(spelling: str, arg: str, has_value: bool, args: list[str], i: int, out: ParsedArgs) -> int:
    """A flag this auditor does not know: dockerd refuses flags it does not know, so a newer dockerd
    knows it. It takes no argument, or the next one: dockerd accepts no arguments, so a word
    that follows (one not starting with '-') must be its value."""
    if spelling in ("--help", "-h"):
        out.uses.append(FlagUse(spelling, None, "bool", "true", arg))
        return i
    if not has_value and i < len(args) and not args[i].startswith("-"):
        out.notes.append(f"unrecognised flag {spelling} (with value {args[i]!r}): not an option this auditor knows")
        return i + 1
    if not has_value and i < len(args):
        out.notes.append(f"unrecognised flag {spelling}: not an option this auditor knows; read as taking no "
                         f"value, so {args[i]} is read as the next flag")
        return i
    out.notes.append(f"unrecognised flag {spelling}: not an option this auditor knows")
    return i


# -- mflag (moby v1.11.2 pkg/mflag/flag.go: parseOne, Parse) ---------------------------------------

def _parse_mflag(args: list[str]) -> ParsedArgs:
    table = FLAG_TABLES[MFLAG]
    out = ParsedArgs([], [], [])
    queue = list(args)
    while queue:
        arg = queue[0]
        if len(arg) < 2 or arg[0] != "-":
            # mflag stops at the first argument that is not a flag; all that follows is arguments.
            out.positional.extend(queue)
            break
        if arg == "--":
            out.positional.extend(queue[1:])
            break
        queue.pop(0)
        name = arg[1:]
        if name[0] == "=":
            raise ConfigError(f"bad flag syntax: {arg}")
        flag, eq, inline = name.partition("=")
        if "-" + flag not in table:
            if flag in ("-help", "help", "h"):
                out.uses.append(FlagUse("--help", None, "bool", "true", arg))
                continue
            if flag.startswith("-") or len(flag) == 1:
                # mflag refuses it; read on as pflag's unknown flags are (see _unknown).
                if not eq and queue and not queue[0].startswith("-"):
                    out.notes.append(f"unrecognised flag -{flag} (with value {queue.pop(0)!r}): "
                                     "not an option of Engine 1.12 or earlier")
                else:
                    out.notes.append(f"unrecognised flag -{flag}: not an option of Engine 1.12 or earlier")
                continue
            # Not a flag by that name: mflag retries it as one-letter flags, each parsed anew. The
            # inline value of `-Dl=debug` is lost; -l then takes the next argument.
            for letter in flag:
                if "-" + letter not in table:
                    raise ConfigError(f"flag provided but not defined: -{flag}")
                queue.insert(0, "-" + letter)
                _mflag_one(queue, table, out, arg)
            continue
        _mflag_one_parsed(flag, bool(eq), _trim_mflag_quotes(inline), queue, table, out, arg)
    return out


def _mflag_one(queue: list[str], table: dict, out: ParsedArgs, text: str) -> None:
    arg = queue.pop(0)
    _mflag_one_parsed(arg[1:], False, "", queue, table, out, text)


def _mflag_one_parsed(flag: str, has_value: bool, value: str, queue: list[str], table: dict, out: ParsedArgs,
                      text: str) -> None:
    spelling = "-" + flag
    key, kind = table[spelling]
    if kind == "bool":
        if not has_value:
            value = "true"
    elif not has_value:
        if not queue:
            raise ConfigError(f"flag -{flag} needs a value")
        value = queue.pop(0)
        text = f"{text} {value}"
    out.uses.append(FlagUse(spelling, key, kind, value, text))


def _trim_mflag_quotes(value: str) -> str:
    # mflag trimQuotes: `-flag="x"` and `-flag='x'` drop the outer pair.
    return _trim_quotes(value) if value else value


# -- values -------------------------------------------------------------------------------------

def _flag_value(use: FlagUse) -> Any:
    if use.kind == "bool":
        return go_parse_bool(use.value, use.spelling)
    if use.kind == "int":
        try:
            return go_parse_int(use.value)
        except ValueError:
            raise ConfigError(f"invalid argument {use.value!r} for {use.spelling}: an integer "
                              "(decimal, 0x.., 0o.. or 0..)") from None
    return use.value


def _accumulate(previous: Optional[Setting], use: FlagUse, value: Any) -> Setting:
    source = f"flag {use.text}"
    if use.kind in ("bool", "string", "int"):
        # Scalar flags: the last one wins.
        return Setting(use.key, value, source)
    joined = source if previous is None else previous.source + ", " + use.text
    if use.kind == "list":
        return Setting(use.key, [*(previous.value if previous else []), value], joined)
    if use.kind == "map":
        # opts.MapOpts.Set: split at the first "="; no "=" sets the key to "".
        k, _, v = value.partition("=")
        return Setting(use.key, {**(previous.value if previous else {}), k: v}, joined)
    if use.kind == "ulimits":
        limit = parse_ulimit(value, use.spelling)
        return Setting(use.key, {**(previous.value if previous else {}), limit["Name"]: limit}, joined)
    return Setting(use.key, _any_flag_value(use.key, previous, value), joined)


def _any_flag_value(key: str, previous: Optional[Setting], value: str) -> Any:
    if key == "runtimes":
        # opts.RuntimeOpt: --add-runtime name=path
        name, _, path = value.partition("=")
        return {**(previous.value if previous else {}), name: {"path": path}}
    if key == "features":
        # NamedSetOpts: --feature name[=bool]
        name, eq, flag = value.partition("=")
        return {**(previous.value if previous else {}), name: go_parse_bool(flag, "--feature") if eq else True}
    # Flags whose value dockerd parses further (address pools, NRI options): kept as written.
    return [*(previous.value if previous else []), value]


# -- rendering ----------------------------------------------------------------------------------

def render_flags(settings: dict[str, Setting], control: Optional[dict[str, Any]] = None,
                 generation: str = PFLAG) -> list[str]:
    """A canonical argv for these settings: long flags, list and map flags repeated, a bool's value
    after "=", any other value after "=" for pflag and as the next word for mflag (whose `=` form
    strips quotes). Parsing it gives the same settings back."""
    argv = ["dockerd"] if generation == PFLAG else ["docker", "daemon"]

    def flag(name: str, value: Any, boolean: bool = False) -> list[str]:
        text = format_value(value)
        return [f"{name}={text}"] if boolean or generation == PFLAG else [name, text]

    for key in sorted(settings):
        option = OPTIONS[key]
        name = option.primary_flag(generation)
        if name is None:
            raise ValueError(f"{key} has no flag in the {generation} generation")
        value = settings[key].value
        if option.kind in ("list", "any") and isinstance(value, list):
            values = list(value)
        elif option.kind == "map":
            values = [f"{k}={v}" for k, v in value.items()]
        elif option.kind == "ulimits":
            values = [f"{u['Name']}={u['Soft']}:{u['Hard']}" for u in value.values()]
        elif key == "runtimes":
            values = [f"{name_}={spec.get('path', '')}" for name_, spec in value.items()]
        elif key == "features":
            values = [f"{name_}={format_value(on)}" for name_, on in value.items()]
        else:
            argv += flag(name, value, option.kind == "bool")
            continue
        for item in values:
            argv += flag(name, item)
    for name, value in sorted((control or {}).items()):
        argv += flag(name, value, isinstance(value, bool))
    return argv
