import pytest

from bench.operators import OPERATORS, OperandError, parse_mode, parse_owners, parse_version


def holds(op, actual, expected=None):
    operator = OPERATORS[op]
    return operator.test(actual, operator.prepare(expected))


@pytest.mark.parametrize("mode,limit,ok", [
    (0o644, "0644", True), (0o600, "0644", True), (0o400, "644", True), (0o000, "0644", True),
    (0o664, "0644", False), (0o607, "0644", False),  # 607 < 644 as numbers, yet world-writable
    (0o666, "0660", False), (0o660, "0660", True), (0o4755, "0755", False), (0o444, "0o444", True),
])
def test_mode_is_a_bit_mask(mode, limit, ok):
    assert holds("mode_at_most", mode, limit) is ok


@pytest.mark.parametrize("bad", [644, "0999", "", "rwxr-xr-x", "12345"])
def test_mode_must_be_a_quoted_octal(bad):
    with pytest.raises(OperandError):
        parse_mode(bad)


def test_owner_matches_name_or_number_and_wildcards():
    assert holds("owned_by", ({"root", "0"}, {"docker", "998"}), "root:docker")
    assert holds("owned_by", ({"root", "0"}, {"docker", "998"}), "0:998")
    assert holds("owned_by", ({"root", "0"}, {"docker", "998"}), ["root:root", "root:docker"])
    assert holds("owned_by", ({"root", "0"}, {"adm", "4"}), "root:*")
    assert not holds("owned_by", ({"alice", "1000"}, {"root", "0"}), "root:root")
    with pytest.raises(OperandError):
        parse_owners("root")


def test_equality_keeps_booleans_apart_from_numbers():
    assert holds("equals", False, False)
    assert not holds("equals", 0, False)
    assert not holds("equals", True, 1)
    assert holds("equals", "true", True)  # engines sometimes send booleans as text
    assert holds("not_equals", "host", "bridge")


def test_collections_and_regexes():
    assert holds("one_of", 512, [256, 512]) and not holds("none_of", 1024, [0, 1024])
    assert holds("contains", ["no-new-privileges"], "no-new-privileges")
    assert holds("not_matches", ["dm.thinpooldev=x"], r"dm\.basesize")
    assert not holds("not_matches", '["dm.basesize=20G"]', r"dm\.basesize")
    assert holds("empty", []) and holds("empty", None) and holds("empty", {}) and not holds("empty", ["x"])
    assert holds("not_empty", {"nofile": {}})


def test_numbers_and_versions():
    assert holds("at_least", 1, 1) and not holds("at_least", 0, 1) and not holds("at_least", "5", 1)
    assert holds("version_at_least", "6.1.0-27-amd64", "3.10")
    assert holds("version_at_least", "3.10", "3.10.0")
    assert not holds("version_at_least", "3.2.0", "3.10")  # compared as numbers, not text
    assert not holds("version_at_least", "garbage", "3.10")
    assert parse_version("v20.10.24+dfsg1") == (20, 10, 24)


@pytest.mark.parametrize("op,value", [("equals", [1]), ("one_of", 5), ("one_of", []), ("matches", "("),
                                      ("at_least", "5"), ("empty", "x")])
def test_bad_operands_are_refused(op, value):
    with pytest.raises(OperandError):
        OPERATORS[op].prepare(value)
