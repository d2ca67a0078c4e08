"""Property-based tests: whatever the input, the parsers either load it or raise their one
documented error type."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.daemon import OPTION_KINDS, ConfigError, effective_config, parse_daemon_json, parse_flags
from bench.facts import FactsError, facts_from_data, facts_from_json
from bench.profile import ProfileError, parse_profile
from bench.yaml_checks import CheckFileError, load_check_file
from helpers import hardened_data

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
flag_names = st.sampled_from(sorted({f"--{k}" for k in OPTION_KINDS} | {"-H", "-l", "-D", "-g", "--config-file", "--x"}))
argv_words = st.lists(st.one_of(flag_names, flag_names.map(lambda f: f + "="), st.text(max_size=12)), max_size=12)


@given(argv_words)
def test_flag_parser_loads_or_raises_config_error(words):
    try:
        parse_flags(["dockerd", *words])
    except ConfigError:
        pass


@given(st.dictionaries(st.sampled_from(sorted(OPTION_KINDS) + ["bogus"]), json_values, max_size=6))
def test_daemon_json_loads_or_raises_config_error(data):
    try:
        settings = parse_daemon_json(json.dumps(data), "/etc/docker/daemon.json")
    except ConfigError as exc:
        assert str(exc).startswith("/etc/docker/daemon.json: ")
    else:
        assert set(settings) == set(data)


@given(st.text(max_size=200), argv_words)
def test_effective_config_never_raises(text, words):
    config = effective_config(["dockerd", *words], "/etc/docker/daemon.json", text)
    assert config.error is None or isinstance(config.error, str)


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
