"""Image history read as the Dockerfile that made it (bench/image_history.py), the secrets the
collector keeps out of the facts (bench/redact.py, bench/secret_text.py), and what the checks make
of both. The history lines are those dockerd 20.10 records (classic builder and BuildKit), copied
from `docker history --no-trunc` of images built in the integration tests."""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.facts import Facts
from bench.facts_file import facts_from_json, facts_to_json
from bench.build_commands import (GRANT, INSTALL, REFRESH, STRIP, UPGRADE, mode_change, package_action, setuid_change,
                                  setuid_effect, strips_setuid_everywhere, verification_bypasses)
from bench.image_history import (add_sources, assignments, base_layer_index, commands, parse_step, shell_script,
                                 source_kind, split_build_args)
from bench.redact import redact_healthcheck, redact_history_line, value_flags
from bench.secret_text import REDACTED, is_secret_name

# -- parsing ---------------------------------------------------------------------------------------

CLASSIC = "classic"
BUILDKIT = "buildkit"


@pytest.mark.parametrize("line,instruction,text,form,args", [
    ("/bin/sh -c #(nop)  ENV SECRET_TOKEN=abc123 OTHER=x y", "ENV", "SECRET_TOKEN=abc123 OTHER=x y", CLASSIC, ()),
    ("/bin/sh -c #(nop) WORKDIR /app", "WORKDIR", "/app", CLASSIC, ()),
    ("/bin/sh -c #(nop) ADD file:9038e107f170f856fa48f31b9226e681828036bcdf1e382273e1fba36fd3dff1 in /app/ ", "ADD",
     "file:9038e107f170f856fa48f31b9226e681828036bcdf1e382273e1fba36fd3dff1 in /app/", CLASSIC, ()),
    ("|2 PASSWORD=s3cret PLAIN= /bin/sh -c echo $PASSWORD > /dev/null && chmod u+s /bin/busybox", "RUN",
     "/bin/sh -c echo $PASSWORD > /dev/null && chmod u+s /bin/busybox", CLASSIC, (("PASSWORD", "s3cret"), ("PLAIN", ""))),
    ("/bin/sh -c apt-get update", "RUN", "/bin/sh -c apt-get update", CLASSIC, ()),
    ("RUN |2 PASSWORD=s3cret PLAIN= /bin/sh -c echo apt-get update # buildkit", "RUN", "/bin/sh -c echo apt-get update",
     BUILDKIT, (("PASSWORD", "s3cret"), ("PLAIN", ""))),
    ("ADD arch.tar.gz /opt/ # buildkit", "ADD", "arch.tar.gz /opt/", BUILDKIT, ()),
    ("ENV SECRET_TOKEN=abc123 OTHER=x y", "ENV", "SECRET_TOKEN=abc123 OTHER=x y", BUILDKIT, ()),
    ('HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" \'\\x00\'}', "HEALTHCHECK",
     '&{["CMD-SHELL" "true"] "5s" "0s" "0s" \'\\x00\'}', BUILDKIT, ()),
    ("", "", "", "none", ()),
    ("# debian.sh --arch 'amd64' out/ 'bookworm' '@1712534400'", "", "# debian.sh --arch 'amd64' out/ 'bookworm' '@1712534400'",
     "none", ()),
    ("cmd /S /C #(nop)  USER ContainerUser", "USER", "ContainerUser", CLASSIC, ()),
])
def test_each_builders_form_is_read_as_its_instruction(line, instruction, text, form, args):
    step = parse_step(line)
    assert (step.instruction, step.text, step.form, step.build_args) == (instruction, text, form, args)


def test_build_argument_values_run_to_the_next_name_or_to_the_shell():
    args, command = split_build_args("|3 A=one B=two words C=x y /bin/bash -o pipefail -c make")
    assert args == (("A", "one"), ("B", "two words"), ("C", "x y"))
    assert command == "/bin/bash -o pipefail -c make"
    args, command = split_build_args("|1 A=1 apt-get update")    # exec form: up to the first blank
    assert args == (("A", "1"),) and command == "apt-get update"


@pytest.mark.parametrize("command,script", [
    ("/bin/sh -c apt-get update", "apt-get update"),
    ("/bin/sh -eux -c apt-get update", "apt-get update"),
    ("/bin/bash -o pipefail -c set -e; apt update", "set -e; apt update"),
    ("cmd /S /C echo hi", "echo hi"),
    ("apt-get update", "apt-get update"),        # exec form
])
def test_the_shell_that_runs_a_script_is_not_part_of_it(command, script):
    assert shell_script(command) == script


def test_a_script_splits_into_simple_commands_and_nested_shells_are_read():
    assert commands("a && b || c; d | e & f\ng") == [["a"], ["b"], ["c"], ["d"], ["e"], ["f"], ["g"]]
    assert commands("sh -c 'apt-get update && echo done'") == [["apt-get", "update"], ["echo", "done"]]
    assert commands("echo 'unbalanced && apt-get update") == [["echo", "'unbalanced"], ["apt-get", "update"]]


@pytest.mark.parametrize("words,expected", [
    ("apt-get update", (REFRESH, "apt-get update")),
    ("apt-get -o Acquire::Retries=3 -qq update", (REFRESH, "apt-get update")),
    ("DEBIAN_FRONTEND=noninteractive sudo -E apt-get install -y curl", (INSTALL, "apt-get install")),
    ("gosu root apt-get update", (REFRESH, "apt-get update")),
    ("apt upgrade -y", (UPGRADE, "apt upgrade")),
    ("apk update", (REFRESH, "apk update")),
    ("apk add --update --no-cache curl", (INSTALL, "apk add")),
    ("yum -y update", (UPGRADE, "yum update")),
    ("dnf makecache", (REFRESH, "dnf makecache")),
    ("microdnf install -y tar", (INSTALL, "microdnf install")),
    ("zypper --non-interactive refresh", (REFRESH, "zypper refresh")),
    ("pacman -Sy", (REFRESH, "pacman -Sy")),
    ("pacman -Syu --noconfirm", (UPGRADE, "pacman -Syu")),
    ("pacman -S --noconfirm vim", (INSTALL, "pacman -S")),
    ("echo apt-get update", None),
    ("apt-cache policy", None),
])
def test_package_manager_commands(words, expected):
    assert package_action(words.split()) == expected


@pytest.mark.parametrize("mode,expected", [
    ("u+s", GRANT), ("g+s", GRANT), ("+s", GRANT), ("ug=rwxs", GRANT), ("4755", GRANT), ("2755", GRANT),
    ("06755", GRANT), ("a-s", STRIP), ("-s", STRIP), ("u-s,g-s", STRIP), ("o+s", None), ("755", None),
    ("0755", None), ("u+x", None), ("file", None),
])
def test_chmod_modes_that_set_or_clear_setuid_and_setgid(mode, expected):
    assert mode_change(mode) == expected


@pytest.mark.parametrize("command,expected", [
    ("chmod u+s /bin/busybox", GRANT),
    ("chmod -R 4755 /opt/tool", GRANT),
    ("busybox chmod g+s /srv", GRANT),         # busybox runs its applets
    ("install -m 4755 tool /usr/bin/", GRANT),
    ("install --mode=2755 tool /usr/bin/", GRANT),
    ("chmod a-s /usr/bin/passwd", STRIP),
    ("chmod 755 /usr/bin/tool", None),
    ("echo chmod u+s", None),
])
def test_setuid_grants(command, expected):
    assert setuid_change(command.split()) == expected


@pytest.mark.parametrize("script,expected", [
    (r"find / -xdev -perm /6000 -type f -exec chmod a-s {} \; || true", True),
    ("find / -perm +6000 -type f -exec chmod a-s {} +", True),
    ("find / -xdev -perm /u=s,g=s -type f | xargs chmod -s", True),
    # Setuid files only: setgid ones keep their bit (found live: `chmod g+s` then this left -rwxr-sr-x).
    ("find / -xdev -perm -4000 -type f -exec chmod u-s {} +", False),
    ("find / -xdev -perm -4000 -exec chmod u-s {} + ; find / -xdev -perm -2000 -exec chmod g-s {} +", True),
    ("find / -xdev -perm /6000 -type f -exec chmod u-s {} +", False),      # clears setuid only
    ("find / -xdev -perm -6000 -type f -exec chmod a-s {} +", False),      # only files with both bits
    ("find / -xdev -perm /6000 -type f -exec chmod 0755 {} +", True),
    (r"find /usr/bin -perm /6000 -exec chmod a-s {} \;", False),       # not the whole file system
    (r"find / -perm /0644 -exec chmod a-s {} \;", False),
    ("find / -xdev -perm /6000 -type f", False),                         # lists, strips nothing
])
def test_whole_file_system_strips(script, expected):
    assert strips_setuid_everywhere(commands(script)) is expected


@pytest.mark.parametrize("script,granted,stripped", [
    # A grant after the strip in the same RUN stands (found live: busybox left -rwsr-xr-x).
    (r"find / -xdev -perm /6000 -type f -exec chmod a-s {} \; ; chmod u+s /bin/busybox", True, False),
    (r"chmod u+s /bin/busybox && find / -xdev -perm /6000 -type f -exec chmod a-s {} +", False, True),
    ("if true; then chmod u+s /bin/busybox; fi", True, False),
    ("find / -perm /6000 -type f | xargs -n 1 chmod u+s", True, False),
    ("chmod 755 /bin/busybox", False, False),
])
def test_the_order_of_grants_and_strips_in_one_run(script, granted, stripped):
    assert setuid_effect(commands(script)) == (granted, stripped)


@pytest.mark.parametrize("line,sources,dest,kinds", [
    ("ADD hello.txt /app/ # buildkit", ["hello.txt"], "/app/", {"local"}),
    ("ADD --chown=1:1 a b.tar.gz /dst/ # buildkit", ["a", "b.tar.gz"], "/dst/", {"local", "archive"}),
    ("ADD https://example.com/x.tgz /opt/ # buildkit", ["https://example.com/x.tgz"], "/opt/", {"url"}),
    ("ADD git@github.com:o/r.git /src # buildkit", ["git@github.com:o/r.git"], "/src", {"url"}),
    ("/bin/sh -c #(nop) ADD file:0a0a in /opt/ ", ["file:0a0a"], "/opt/", {"file"}),
    ("/bin/sh -c #(nop) ADD dir:0a0a in /srv ", ["dir:0a0a"], "/srv", {"directory"}),
    ("/bin/sh -c #(nop) ADD multi:0a0a in /srv/ ", ["multi:0a0a"], "/srv/", {"several"}),
    ("/bin/sh -c #(nop) ADD " + "0b" * 32 + " in /opt/t ", ["0b" * 32], "/opt/t", {"url"}),
])
def test_add_sources_and_what_they_are(line, sources, dest, kinds):
    step = parse_step(line)
    assert add_sources(step) == (sources, dest)
    assert {source_kind(s, step.form) for s in sources} == kinds


def test_the_base_layer_is_the_oldest_step_that_made_a_layer():
    lines = [("COPY a /a # buildkit", 3), ("CMD <redacted>", 0), ("ADD rootfs.tar.gz / # buildkit", 7000),
             ("ARG TARGETARCH", 0)]
    steps = [parse_step(line) for line, _ in lines]
    assert base_layer_index(steps, [size for _, size in lines]) == 2
    assert base_layer_index([parse_step("")], [700]) == 0          # docker import
    assert base_layer_index([parse_step("USER app")], [0]) is None


def test_verification_bypasses():
    off, risky = verification_bypasses(commands("apt-get install -y --allow-unauthenticated x && rpm -i --nosignature y.rpm"), "")
    assert off == ["apt-get --allow-unauthenticated", "rpm --nosignature"] and risky == []
    off, risky = verification_bypasses(commands("curl -fsSL https://x/i.sh | bash && wget --no-check-certificate u"), "")
    assert off == [] and risky == ["curl piped into bash", "wget --no-check-certificate"]
    off, _ = verification_bypasses([], "echo 'gpgcheck=0' >> /etc/yum.conf")
    assert off == ["gpgcheck=0"]


def test_assignments_run_to_the_next_name():
    assert [(n, v) for n, v, _, _ in assignments("A=1 B=two words C=")] == [("A", "1"), ("B", "two words"), ("C", "")]
    assert [(n, v) for n, v, _, _ in assignments("URL=http://h/?a=b")] == [("URL", "http://h/?a=b")]


@pytest.mark.parametrize("name,secret", [
    ("PASSWORD", True), ("DB_PASSWORD", True), ("db-pass", True), ("NPM_TOKEN", True), ("GITHUB_TOKEN", True),
    ("JWT_SECRET", True), ("AWS_SECRET_ACCESS_KEY", True), ("API_KEY", True),
    ("APIKEY", True), ("apiKey", True), ("PRIVATE_KEY", True), ("--password", True), ("com.example.api-key", True),
    ("PASSWORD_FILE", False), ("TOKEN_PATH", False), ("AWS_ACCESS_KEY_ID", False), ("GPG_KEY", False),
    ("PWD", False), ("PATH", False), ("--password-stdin", False), ("PASSWORD_MIN_LENGTH", False), ("KEY", False),
    # Found by a live review (they read PASS): camelCase, run together, numbered, PW.
    ("dbPassword", True), ("apiToken", True), ("DBPASSWORD", True), ("DB_PASSWORD2", True), ("ROOT_PW", True),
    ("GITHUBTOKEN", True), ("passwordFile", False), ("BYPASS", False), ("COMPASS", False), ("POWER", False),
    ("tokenizer", False), ("SECRETARY", False),
])
def test_names_that_say_they_hold_a_secret(name, secret):
    assert is_secret_name(name) is secret


# -- redaction: what the facts keep ------------------------------------------------------------------

@pytest.mark.parametrize("line,kept", [
    ("|2 PASSWORD=s3cret PLAIN= /bin/sh -c echo $PASSWORD > /dev/null && chmod u+s /bin/busybox",
     "|2 PASSWORD=<redacted> PLAIN= /bin/sh -c echo $PASSWORD > /dev/null && chmod u+s /bin/busybox"),
    ("RUN |1 VERSION=1.2 /bin/sh -c make # buildkit", "RUN |1 VERSION=<redacted> /bin/sh -c make # buildkit"),
    ("/bin/sh -c #(nop)  ENV SECRET_TOKEN=abc123 OTHER=x y", "/bin/sh -c #(nop)  ENV SECRET_TOKEN=<redacted> OTHER=<redacted>"),
    ("/bin/sh -c #(nop)  ENV PATH /usr/local/bin:/usr/bin", "/bin/sh -c #(nop)  ENV PATH <redacted>"),
    # A credential inside a value leaves its marker, not a plain <redacted>: the checks must see it.
    ("/bin/sh -c #(nop)  ENV DATABASE_URL=postgres://app:hunter2@db/app",
     "/bin/sh -c #(nop)  ENV DATABASE_URL=<redacted:url-password>"),
    ("/bin/sh -c #(nop)  ENV URL https://u:pw@x/y", "/bin/sh -c #(nop)  ENV URL <redacted:url-password>"),
    ("RUN |1 REPO=https://u:pw@git.example/r /bin/sh -c make # buildkit",
     "RUN |1 REPO=<redacted:url-password> /bin/sh -c make # buildkit"),
    ("ARG PASSWORD=defaultpw", "ARG PASSWORD=<redacted>"),
    ("ARG PLAIN", "ARG PLAIN"),
    ("ENV HOME=$HOME_DIR", "ENV HOME=$HOME_DIR"),
    ("LABEL maintainer=me@example.com", "LABEL maintainer=<redacted>"),
    ('/bin/sh -c #(nop)  CMD ["server" "--token" "abc"]', "/bin/sh -c #(nop)  CMD <redacted>"),
    ('HEALTHCHECK &{["NONE"] "0s" "0s" "0s" \'\\x00\'}', 'HEALTHCHECK &{["NONE"] "0s" "0s" "0s" \'\\x00\'}'),
    ("/bin/sh -c apt-get update && apt-get install -y curl", "/bin/sh -c apt-get update && apt-get install -y curl"),
    ("/bin/sh -c export DB_PASSWORD=hunter2 && ./init", "/bin/sh -c export DB_PASSWORD=<redacted> && ./init"),
    ("/bin/sh -c mysql -uroot -phunter2 -e 'select 1'", "/bin/sh -c mysql -uroot -p<redacted> -e 'select 1'"),
    ("/bin/sh -c npm login --password hunter2 --token=$T", "/bin/sh -c npm login --password <redacted> --token=$T"),
    ("/bin/sh -c curl -u bob:hunter2 https://x/", "/bin/sh -c curl -u bob:<redacted:password> https://x/"),
    ("/bin/sh -c git clone https://bob:hunter2@git.example/r", "/bin/sh -c git clone https://bob:<redacted:url-password>@git.example/r"),
    ("/bin/sh -c curl -H 'Authorization: Bearer abc.def' https://x/",
     "/bin/sh -c curl -H 'Authorization: Bearer <redacted:authorization-header>' https://x/"),
    ("RUN /bin/sh -c echo ghp_0123456789abcdefghijklmnopqrstuvwxyzAB > t # buildkit",
     "RUN /bin/sh -c echo <redacted:github-token> > t # buildkit"),
    ("/bin/sh -c echo '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----' > k",
     "/bin/sh -c echo '<redacted:private-key>' > k"),
])
def test_history_lines_keep_their_commands_and_lose_their_values(line, kept):
    assert redact_history_line(line) == kept


def test_image_config_keeps_names_and_whether_they_have_values():
    assert value_flags(["PATH=/bin", "EMPTY=", "BARE"]) == {"PATH": True, "EMPTY": False, "BARE": False}
    assert value_flags({"a": "x", "b": ""}) == {"a": True, "b": False}
    assert redact_healthcheck({"Test": ["CMD", "curl", "-u", "a:b", "http://x"]}) == ["CMD", REDACTED]
    assert redact_healthcheck({"Test": ["NONE"]}) == ["NONE"]
    assert redact_healthcheck(None) is None


def _values(excluded: str):
    return st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=excluded),
                   min_size=6, max_size=30).filter(lambda v: not v.startswith("-"))


# Values as the builders record them (anything but blanks, quotes and `=`), as a shell word would
# hold them unquoted (no shell syntax), and as a URL holds a password (percent-encoded).
_VALUE = _values("$\"'<>=")
_WORD = _values("$\"'<>=;&|()`\\#{}")
_URL_PASSWORD = _values("$\"'<>=;&|()`\\#{}/@:?%")
_SECRET = st.sampled_from(["PASSWORD", "DB_PASSWORD", "API_TOKEN", "NPM_TOKEN", "CLIENT_SECRET", "API_KEY"])


@settings(max_examples=300, deadline=None)
@given(name=_SECRET, value=_VALUE, word=_WORD, password=_URL_PASSWORD, other=_VALUE)
def test_no_secret_value_survives_in_any_form(name, value, word, password, other):
    """Whatever the value, the collector's line never holds it, and the checks still see the step."""
    lines = [
        (value, f"/bin/sh -c #(nop)  ENV {name}={value} OTHER={other}"),
        (value, f"ENV {name}={value}"),
        (value, f"ARG {name}={value}"),
        (value, f"|1 {name}={value} /bin/sh -c make"),
        (value, f"RUN |2 {name}={value} X={other} /bin/sh -c make # buildkit"),
        (word, f"/bin/sh -c export {name}={word} && make"),
        (word, f"/bin/sh -c tool --{name.lower().replace('_', '-')}={word}"),
        (word, f"/bin/sh -c tool --{name.lower().replace('_', '-')} {word} --verbose"),
        (password, f"/bin/sh -c curl https://u:{password}@h.example/x"),
    ]
    for secret, line in lines:
        if line.count(secret) != 1:     # the value is also a piece of the line's own text ("bin/sh")
            continue
        kept = redact_history_line(line)
        assert secret not in kept, (line, kept)
        assert redact_history_line(kept) == kept                    # nothing left to redact
        assert parse_step(kept).instruction == parse_step(line).instruction


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_and_redacts_without_error(text):
    step = parse_step(text)
    commands(shell_script(step.text))
    add_sources(step)
    redact_history_line(text)


# -- facts: old files load, "not collected" is not "none" --------------------------------------------

def test_facts_without_image_details_load_and_say_not_collected():
    data = json.loads(facts_to_json(Facts()))
    data["schema_version"] = 2
    del data["images"]["details"], data["images"]["notes"]
    facts = facts_from_json(json.dumps(data))
    assert facts.images.details is None
    data["images"]["details"] = {}
    assert facts_from_json(json.dumps(data)).images.details == {}


def test_collected_image_facts_round_trip():
    from bench.facts import HistoryEntry, ImageConfig, ImageDetails

    facts = Facts()
    facts.images.error = None
    facts.images.details = {"sha256:aa": ImageDetails(config=ImageConfig(user="app", healthcheck=["CMD", REDACTED],
                                                                         env={"PATH": True}),
                                                      history=[HistoryEntry("USER app", 1, 0, "")]),
                            "sha256:bb": ImageDetails(config_error="image inspect failed: x", history_error="y")}
    loaded = facts_from_json(facts_to_json(facts))
    assert loaded.images.details == facts.images.details
    assert re.search(r'"history": null', facts_to_json(loaded))
