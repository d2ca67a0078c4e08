"""Property-based tests: whatever the input, the parsers either load it or raise their one
documented error type."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.daemon import (OPTION_KINDS, ConfigError, Setting, effective_config, generation_of, parse_daemon_json,
                          parse_flags, render_flags)
from bench.daemon.go_values import GO_FALSE, GO_TRUE
from bench.daemon.options import OPTIONS
from bench.facts_file import FactsError, facts_from_data, facts_from_json
from bench.profile import ProfileError, parse_profile
from bench.yaml_checks import CheckFileError, load_check_file
from helpers import hardened_data

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
flag_names = st.sampled_from(sorted({f"--{k}" for k in OPTION_KINDS} | {"-H", "-l", "-D", "-g", "-G", "-icc", "-Dl", "-lD",
                                                                   "--config-file", "--x", "--"}))
argv_words = st.lists(st.one_of(flag_names, flag_names.map(lambda f: f + "="), st.text(max_size=12)), max_size=12)


@given(argv_words)
def test_flag_parser_loads_or_raises_config_error(words):
    try:
        parse_flags(["dockerd", *words])
    except ConfigError:
        pass


@given(st.dictionaries(st.sampled_from(sorted(OPTION_KINDS) + ["bogus", "Bogus"]), json_values, max_size=6))
def test_daemon_json_loads_or_raises_config_error(data):
    try:
        parsed = parse_daemon_json(json.dumps(data), "/etc/docker/daemon.json")
    except ConfigError as exc:
        assert str(exc).startswith("/etc/docker/daemon.json: ")
        return
    nested = {inner for value in data.values() if isinstance(value, dict) for inner in value}
    assert set(parsed.settings) <= set(data) | nested
    for key, value in data.items():
        # Every key is read, or a note says what dockerd does with it instead.
        assert (key in parsed.settings or isinstance(value, dict)
                or any(repr(key) in note for note in parsed.notes)), (key, parsed.notes)


@given(st.text(max_size=200), argv_words)
def test_effective_config_never_raises(text, words):
    config = effective_config(["dockerd", *words], "/etc/docker/daemon.json", text)
    assert config.error is None or isinstance(config.error, str)


# -- flag spellings dockerd treats as equal -------------------------------------------------------

_word = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8)
_levels = st.sampled_from(["debug", "info", "warn", "error", "fatal"])
_ULIMIT = st.builds(lambda name, soft, extra: {"Name": name, "Soft": soft, "Hard": soft + extra},
                    st.sampled_from(["nofile", "nproc", "core"]), st.integers(0, 4096), st.integers(0, 4096))
# Options with their values: (key, strategy). Strings must not start with "=" for the -Xvalue form.
_VALUES = {
    "debug": st.booleans(), "icc": st.booleans(), "iptables": st.booleans(), "live-restore": st.booleans(),
    "log-level": _levels, "group": _word.filter(lambda w: not w.startswith("=")),
    "storage-driver": st.sampled_from(["overlay2", "vfs", "devicemapper"]), "userns-remap": _word,
    "mtu": st.integers(0, 9000), "shutdown-timeout": st.integers(-5, 100),
    "hosts": st.lists(st.sampled_from(["fd://", "unix:///run/d.sock", "tcp://0.0.0.0:2376", ":2375"]),
                      min_size=1, max_size=3),
    "insecure-registries": st.lists(_word, min_size=1, max_size=3),
    "log-opts": st.dictionaries(_word.filter(lambda w: "=" not in w), _word, min_size=1, max_size=3),
    "default-ulimits": st.lists(_ULIMIT, min_size=1, max_size=2),
}


def _spell(draw, key, value):
    """One way, of those dockerd treats as equal, to write one value of an option."""
    option = OPTIONS[key]
    longs = [f for f in option.flags if f.startswith("--")]
    shorts = [f for f in option.flags if len(f) == 2]
    name = draw(st.sampled_from(longs + shorts))
    if option.kind == "bool":
        text = draw(st.sampled_from(sorted(GO_TRUE if value else GO_FALSE)))
        forms = [[f"{name}={text}"]] + ([[name]] if value else [])
        return draw(st.sampled_from(forms))
    text = str(value) if option.kind != "int" else draw(st.sampled_from(
        [str(value), hex(value), oct(value).replace("0o", "0" if value else "0o")] if value >= 0 else [str(value)]))
    forms = [[f"{name}={text}"], [name, text]] if name in longs else [[name, text], [f"{name}={text}"]]
    if name in shorts and not text.startswith("="):
        forms.append([name + text])
    return draw(st.sampled_from(forms))


@st.composite
def _spellings(draw):
    keys = draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True, min_size=1, max_size=6))
    expected, groups = {}, []
    for key in keys:
        value = draw(_VALUES[key])
        kind = OPTIONS[key].kind
        if kind == "list":
            expected[key] = value
            groups.append([w for item in value for w in _spell(draw, key, item)])
        elif kind == "map":
            expected[key] = value
            groups.append([w for k, v in value.items() for w in _spell(draw, key, f"{k}={v}")])
        elif kind == "ulimits":
            expected[key] = {u["Name"]: u for u in value}
            groups.append([w for u in expected[key].values()
                           for w in _spell(draw, key, f"{u['Name']}={u['Soft']}:{u['Hard']}")])
        else:
            expected[key] = value
            groups.append(_spell(draw, key, value))
    order = draw(st.permutations(range(len(groups))))
    argv = [w for i in order for w in groups[i]]
    # -D clusters with a short flag that follows it: -D -l x is -Dl x, -Dlx and -Dl=x.
    if argv[:1] == ["-D"] and len(argv) > 1 and len(argv[1]) >= 2 and argv[1][0] == "-" and argv[1][1] != "-":
        argv = ["-D" + argv[1][1:], *argv[2:]]
    return argv, expected


@given(_spellings())
def test_flag_spellings_dockerd_treats_as_equal_give_equal_configurations(case):
    argv, expected = case
    settings, _, _ = parse_flags(["dockerd", *argv])
    assert {k: s.value for k, s in settings.items()} == expected, argv


@given(argv_words)
def test_every_accepted_command_line_round_trips_through_its_canonical_rendering(words):
    for program in (["dockerd"], ["docker", "daemon"]):
        try:
            settings, control, _ = parse_flags([*program, *words])
        except ConfigError:
            continue
        generation = generation_of(program)
        again, control_again, _ = parse_flags(render_flags(settings, control, generation))
        assert {k: s.value for k, s in again.items()} == {k: s.value for k, s in settings.items()}
        assert control_again == control


_JSON_AND_FLAG = ["icc", "iptables", "debug", "live-restore", "log-level", "group", "userns-remap", "mtu",
                  "shutdown-timeout", "hosts", "insecure-registries", "log-opts", "default-ulimits"]


@given(st.lists(st.sampled_from(_JSON_AND_FLAG), unique=True, min_size=1, max_size=5).flatmap(
    lambda keys: st.fixed_dictionaries({k: _VALUES[k] for k in keys})))
def test_a_setting_reads_the_same_as_a_flag_and_in_daemon_json(values):
    file_form = {k: ({u["Name"]: u for u in v} if k == "default-ulimits" else v) for k, v in values.items()
                 if v not in ("", 0, [], {})}
    from_file = effective_config(["dockerd"], "/etc/docker/daemon.json", json.dumps(file_form))
    from_flags = effective_config(render_flags({k: Setting(k, v, "") for k, v in file_form.items()}), None, None)
    # Both forms are refused alike (a log opt dockerd does not take), or read alike.
    assert (from_file.error is None) == (from_flags.error is None), (from_file.error, from_flags.error)
    assert {k: s.value for k, s in from_file.settings.items()} == {k: s.value for k, s in from_flags.settings.items()}


check_field_values = st.one_of(json_values, st.sampled_from(["daemon", "container", "file", "audit", "equals",
                                                             "mode_at_most", "icc", "HostConfig.Privileged",
                                                             "docker.service", "0644", "root:root", "x-y"]))


@given(st.lists(st.dictionaries(st.sampled_from(["id", "title", "target", "field", "op", "value", "default",
                                                 "file", "when_absent", "on_fail", "bogus"]),
                                check_field_values, max_size=8), max_size=3))
def test_check_file_loader_loads_or_raises_check_file_error(entries):
    import yaml

    text = yaml.safe_dump({"checks": entries})
    try:
        load_check_file(text, "prop.yaml")
    except CheckFileError as exc:
        assert str(exc).startswith("prop.yaml")


@given(st.text(max_size=300))
def test_check_file_loader_survives_any_text(text):
    try:
        load_check_file(text, "prop.yaml")
    except CheckFileError:
        pass


@given(st.text(max_size=300))
def test_facts_loader_survives_any_text(text):
    try:
        facts_from_json(text)
    except FactsError:
        pass


def _mutations():
    base = hardened_data()
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append(path + [key])
                walk(value, path + [key])
        elif isinstance(node, list):
            for i, value in enumerate(node[:2]):
                paths.append(path + [i])
                walk(value, path + [i])

    walk(base, [])
    return st.tuples(st.sampled_from(paths), json_values)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(_mutations())
def test_facts_loader_loads_or_raises_facts_error_on_any_mutation(mutation):
    path, value = mutation
    data = hardened_data()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        facts_from_data(data)
    except FactsError:
        pass


@given(json_values)
def test_profile_parser_loads_or_raises_profile_error(data):
    try:
        parse_profile(data, "p.yaml")
    except ProfileError:
        pass
