"""Container settings read the way dockerd and runc read them (bench/container_values.py)."""
from __future__ import annotations

import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.container_values import (DEFAULT_CAPABILITIES, HOST_UID_MAP, MAX_ID, container_uid, effective_capabilities,
                                    go_atoi, normalise_capability, parse_user, user_is_root)
from bench.exposure import (PortBinding, binds_all_interfaces, clean_path, device_request_text, device_rule_grant,
                            host_sources, low_ports, parse_device_rule, published_ports, read_host_port, sensitive_dir)

SENSITIVE = ("/", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sys", "/usr")


# -- users --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,uid", [("0", 0), ("00", 0), ("+0", 0), ("-0", 0), ("1000", 1000), ("+1000", 1000),
                                      ("007", 7)])
def test_atoi_reads_what_go_reads(text, uid):
    assert go_atoi(text) == uid


@pytest.mark.parametrize("text", ["", " 0", "0 ", "0_0", "١", "0x0", "+", "-", "1e3", "root"])
def test_atoi_refuses_what_go_refuses(text):
    assert go_atoi(text) is None


@pytest.mark.parametrize("text", ["", "root", "0", "00", "+0", "-0", "0:0", "root:root", ":0", "0:1000", "00:app",
                                  "root:", "0:0:extra"])
def test_root_spellings(text):
    assert user_is_root(parse_user(text)) is True


@pytest.mark.parametrize("text", ["1000", "1000:0", "1", "65534", str(MAX_ID), "1000:root"])
def test_numeric_non_root(text):
    assert user_is_root(parse_user(text)) is False


@pytest.mark.parametrize("text", ["app", "app:app", "app:0", " 0", "0 ", "toor", "ROOT", "1000 "])
def test_names_depend_on_the_images_passwd(text):
    parsed = parse_user(text)
    assert parsed.uid is None and parsed.name == text.split(":")[0]
    assert user_is_root(parsed) is None


def test_fields_of_a_user_spec():
    parsed = parse_user("app:staff:ignored")
    assert (parsed.name, parsed.uid, parsed.group, parsed.gid) == ("app", None, "staff", None)
    parsed = parse_user("1000:0")
    assert (parsed.name, parsed.uid, parsed.group, parsed.gid, parsed.error) == (None, 1000, "0", 0, "")
    assert parse_user(":0").name is None and parse_user(":0").uid is None


@pytest.mark.parametrize("text", [str(2**31), str(2**32), "4294967296:0", "-1", "1000:-5", "99999999999999999999"])
def test_ids_outside_runcs_range_cannot_start(text):
    parsed = parse_user(text)
    assert "cannot start" in parsed.error
    assert user_is_root(parsed) is False


@given(st.integers(min_value=0, max_value=MAX_ID), st.sampled_from(["", "+", "0", "00", "+00"]))
def test_any_spelling_of_a_uid_reads_as_that_uid(uid, prefix):
    parsed = parse_user(prefix + str(uid))
    assert parsed.uid == uid and user_is_root(parsed) is (uid == 0)


@pytest.mark.parametrize("uid_line,uid_map,inside", [
    ("0 0 0 0", HOST_UID_MAP, 0),
    ("Uid:\t1000\t1000\t1000\t1000", HOST_UID_MAP, 1000),
    ("101000 101000 101000 101000", "         0     100000      65536\n", 1000),
    ("100000 100000 100000 100000", "0 100000 65536", 0),
    ("1000 0 0 0", HOST_UID_MAP, 0),                      # the effective uid decides
    ("1000 1000 1000 1000", "0 1000 1\n1 100000 65536\n", 0),   # rootless: the user is root inside
    ("100005 100005 100005 100005", "0 1000 1\n1 100000 65536\n", 6),
    ("5 5 5 5", "0 100000 65536", None),                   # not mapped
    ("0 0 0 0", None, None),                                # uid_map not recorded
    ("", HOST_UID_MAP, None),
    ("x y", HOST_UID_MAP, None),
])
def test_uid_inside_the_container(uid_line, uid_map, inside):
    assert container_uid(uid_line, uid_map) == inside


# -- capabilities -------------------------------------------------------------------------------------

def _spellings(name: str):
    bare = name[4:]
    return st.sampled_from([name, bare, "cap_" + bare, "Cap_" + bare, bare.lower()]).flatmap(
        lambda word: st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
            lambda upper: "".join(c.upper() if u else c.lower() for c, u in zip(word, upper))))


CAP_NAMES = sorted(DEFAULT_CAPABILITIES | {"CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SYS_TIME", "CAP_BPF"})


@given(st.sampled_from(CAP_NAMES).flatmap(lambda n: st.tuples(st.just(n), _spellings(n))))
def test_any_spelling_of_a_capability_normalises_the_same(pair):
    name, spelling = pair
    assert normalise_capability(spelling) == name


@given(st.sampled_from(["all", "ALL", "All", "aLl"]))
def test_all_in_any_case(spelling):
    assert normalise_capability(spelling) == "ALL"


def test_defaults_when_nothing_changes():
    assert effective_capabilities(None, None, False).granted == DEFAULT_CAPABILITIES
    assert effective_capabilities([], [], False).granted == DEFAULT_CAPABILITIES


def test_drop_all_keeps_only_what_is_added():
    caps = effective_capabilities(["NET_BIND_SERVICE"], ["ALL"], False)
    assert caps.granted == {"CAP_NET_BIND_SERVICE"} and not caps.beyond_default()
    assert caps.dropped_defaults() == DEFAULT_CAPABILITIES - {"CAP_NET_BIND_SERVICE"}


def test_added_wins_over_dropped():
    # moby TweakCapabilities drops first, then appends CapAdd; seen live on dockerd 20.10 (CapBnd).
    caps = effective_capabilities(["net_admin", "cap_sys_time"], ["chown", "NET_ADMIN"], False)
    assert caps.beyond_default() == {"CAP_NET_ADMIN", "CAP_SYS_TIME"}
    assert "CAP_CHOWN" not in caps.granted


def test_all_added_is_everything_but_the_dropped():
    caps = effective_capabilities(["ALL"], ["ALL", "net_raw"], False)
    assert caps.everything and caps.withheld == {"CAP_NET_RAW"}
    assert caps.dropped_defaults() == {"CAP_NET_RAW"}


def test_privileged_is_everything():
    assert effective_capabilities([], ["ALL"], True).everything


@given(st.lists(st.sampled_from(CAP_NAMES), max_size=5), st.lists(st.sampled_from(CAP_NAMES + ["ALL"]), max_size=5))
def test_only_added_non_default_capabilities_go_beyond_the_default(adds, drops):
    caps = effective_capabilities(adds, drops, False)
    assert caps.beyond_default() == set(adds) - DEFAULT_CAPABILITIES
    assert set(adds) <= caps.granted


# -- published ports ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,ports", [("80", (80, 80)), ("80-90", (80, 90)), ("1000-1100", (1000, 1100)),
                                        ("", None), ("0", None), ("0-0", None), ("8080/tcp", (8080, 8080)),
                                        ("9303-9304-9305", (9303, 9304)), ("65535", (65535, 65535)),
                                        ("/udp", None)])
def test_host_ports_as_dockerd_reads_them(text, ports):
    assert read_host_port(text) == ports


@pytest.mark.parametrize("text", ["+80", "-80", "80-", "90-80", "65536", "eighty", "８０", " 80"])
def test_host_ports_dockerd_refuses(text):
    with pytest.raises(ValueError):
        read_host_port(text)


@pytest.mark.parametrize("ip,wide", [("", True), ("0.0.0.0", True), ("::", True), ("[::]", True),
                                     ("::ffff:0.0.0.0", True), ("localhost", True), ("0", True),
                                     ("fe80::1%eth0", True), ("[::1]", True), ("127.0.0.1", False), ("::1", False),
                                     ("10.0.0.5", False), ("2001:db8::5", False), ("::ffff:127.0.0.1", False)])
def test_which_host_ips_bind_every_interface(ip, wide):
    assert binds_all_interfaces(ip) is wide


@given(st.integers(1, 1023), st.integers(0, 64511), st.sampled_from(["", "127.0.0.1", "::1"]))
def test_a_range_that_includes_a_low_port_is_low(low, width, ip):
    binding = PortBinding("80/tcp", ip, f"{low}-{min(low + width, 65535)}", live=False)
    found = low_ports(binding)
    assert found is not None and found[0] <= low <= found[1]


@given(st.integers(1024, 65535), st.integers(0, 1000))
def test_a_range_above_1023_is_not_low(first, width):
    assert low_ports(PortBinding("80/tcp", "", f"{first}-{min(first + width, 65535)}", live=False)) is None


def test_ephemeral_is_not_low():
    for text in ("", "0"):
        assert low_ports(PortBinding("80/tcp", "", text, live=False)) is None


def _inspect(running, bindings, live=None, mode="bridge"):
    return {"State": {"Running": running}, "HostConfig": {"NetworkMode": mode, "PortBindings": bindings},
            "NetworkSettings": {"Ports": live}}


def test_created_container_publishes_what_it_asks_for():
    publication = published_ports(_inspect(False, {"80/tcp": [{"HostIp": "", "HostPort": "1000-1100"}]}))
    assert [b.host_port for b in publication.current] == ["1000-1100"] and not publication.discarded


def test_running_container_publishes_what_was_bound_and_keeps_the_requested_range():
    publication = published_ports(_inspect(True, {"80/tcp": [{"HostIp": "", "HostPort": "1000-1100"}]},
                                           {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "1050"}]}))
    assert [(b.host_port, b.live) for b in publication.current] == [("1050", True)]
    assert [b.host_port for b in publication.requested] == ["1000-1100"]


@pytest.mark.parametrize("mode", ["host", "none"])
def test_host_and_none_networks_discard_published_ports(mode):
    publication = published_ports(_inspect(False, {"80/tcp": [{"HostIp": "", "HostPort": "80"}]}, mode=mode))
    assert not publication.current and not publication.requested and "discards" in publication.discarded


def test_nothing_bound_on_an_internal_network():
    publication = published_ports(_inspect(True, {"80/tcp": [{"HostIp": "", "HostPort": "80"}]}, {}, mode="internal"))
    assert not publication.current and not publication.requested and "nothing bound" in publication.discarded


def test_live_ports_not_recorded_fall_back_to_the_request():
    publication = published_ports(_inspect(True, {"80/tcp": [{"HostIp": "", "HostPort": "80"}]}, None))
    assert [b.host_port for b in publication.current] == ["80"]


# -- devices ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["c *:* rwm", "b 8:* rw", "a *:* rwm", "c 1:3 r", "c 10:229 rwm", "b *:0 mmm"])
def test_device_rules_dockerd_accepts(text):
    assert parse_device_rule(text).text == text


@pytest.mark.parametrize("text", ["c *:* rwx", "a", "x 1:1 r", "c 1:1", "c 1 r", "c  1:1 r", "c 1:1 r\n", " c 1:1 r",
                                  "c 1:1 rwmr", "c -1:1 r", "c 99999999999999999999:1 r", "c ١:1 r"])
def test_device_rules_dockerd_refuses(text):
    with pytest.raises(ValueError):
        parse_device_rule(text)


@pytest.mark.parametrize("text,grant", [
    ("c *:* rwm", "read, write, mknod on every character device"),
    ("a 1:3 m", "every host device, read, write and mknod"),       # devices.list shows a *:* rwm (seen live)
    ("b 8:* rw", "read, write on block devices 8:* (SCSI and SATA disks)"),
    ("c 10:229 rwm", "read, write, mknod on character devices 10:229 (misc devices)"),
    ("b *:0 r", "read on every block device with minor 0"),
    ("c 250:1 w", "write on character devices 250:1"),
    ("c *:* m", ""), ("b 8:0 m", ""), ("c 1:3 rwm", ""), ("c 136:* rw", ""), ("c 136:4 r", ""), ("c 10:200 rw", ""),
])
def test_what_a_device_rule_grants(text, grant):
    assert device_rule_grant(parse_device_rule(text)) == grant


def test_device_requests():
    assert device_request_text({"Driver": "nvidia", "Count": 0, "DeviceIDs": ["0", "GPU-1"],
                                "Capabilities": [["gpu", "compute"]]}) == "nvidia: devices 0, GPU-1 (gpu+compute)"
    assert device_request_text({"Driver": "", "Count": -1, "Capabilities": [["gpu"]]}) == "any driver: all devices (gpu)"


# -- host paths ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,clean", [("//etc", "/etc"), ("/etc/", "/etc"), ("/./etc", "/etc"), ("/usr/../etc", "/etc"),
                                        ("///etc//ssl/", "/etc/ssl"), ("/..", "/"), ("", "."), ("//", "/"),
                                        ("/etcetera", "/etcetera")])
def test_clean_path_as_go_cleans_it(path, clean):
    assert clean_path(path) == clean


@given(st.lists(st.sampled_from(["etc", "usr", ".", "..", "", "ssl", "a"]), max_size=8))
def test_clean_path_never_keeps_two_leading_slashes(parts):
    path = "/" + "/".join(parts)
    cleaned = clean_path(path)
    assert not cleaned.startswith("//") and cleaned == posixpath.normpath("/" + cleaned.lstrip("/"))


@pytest.mark.parametrize("source,resolved,base", [
    ("//etc", {}, "/etc"), ("/etc/", {}, "/etc"), ("/./etc", {}, "/etc"), ("/usr/../etc", {}, "/etc"),
    ("/etc/ssl", {}, "/etc"), ("/", {}, "/"), ("/etcetera", {}, ""), ("/srv", {}, ""), ("/lib64", {}, "/lib64"),
    ("/bin", {}, ""), ("/bin", {"/bin": "/usr/bin"}, "/usr"), ("/lib", {"/lib": "/usr/lib"}, "/usr"),
    ("/srv/cfg", {"/srv/cfg": "/etc"}, "/etc"), ("/etc/x", {"/etc/x": "/srv/x"}, ""),
    ("//bin", {"/bin": "/usr/bin"}, "/usr"), ("", {}, ""),
])
def test_sensitive_dir(source, resolved, base):
    assert sensitive_dir(source, resolved, SENSITIVE)[0] == base


def test_root_in_the_list_matches_only_root():
    assert sensitive_dir("/srv", {}, ("/",))[0] == ""
    assert sensitive_dir("//", {}, ("/",))[0] == "/"


def _volume(name, options):
    return {"Name": name, "Driver": "local", "Options": options}


def test_host_sources_of_binds_and_bind_volumes():
    mounts = [
        {"Type": "bind", "Source": "//etc", "Destination": "/a", "RW": True},
        {"Source": "/usr", "Destination": "/b", "RW": False},                       # Engine 1.11: no Type
        {"Type": "volume", "Name": "v", "Driver": "local", "Destination": "/c", "RW": True},
        {"Type": "volume", "Name": "ro", "Driver": "local", "Destination": "/d", "RW": True},
        {"Type": "volume", "Name": "plain", "Driver": "local", "Destination": "/e", "RW": True},
        {"Type": "volume", "Name": "nfs", "Driver": "local", "Destination": "/f", "RW": True},
        {"Type": "volume", "Name": "p", "Driver": "some/plugin", "Destination": "/g", "RW": True},
        {"Type": "tmpfs", "Source": "", "Destination": "/run", "RW": True},
        {"Type": "volume", "Name": "missing", "Driver": "local", "Destination": "/h", "RW": True},
    ]
    volumes = {"v": _volume("v", {"type": "none", "o": "bind", "device": "/etc"}),
               "ro": _volume("ro", {"type": "none", "o": "ro,rbind", "device": "/boot"}),
               "plain": _volume("plain", None),
               "nfs": _volume("nfs", {"type": "nfs", "o": "addr=10.0.0.1,rw", "device": ":/export"})}
    found = [(s.source, s.destination, s.writable, s.via, bool(s.unknown)) for s in host_sources(mounts, volumes)]
    assert found == [("//etc", "/a", True, "bind", False), ("/usr", "/b", False, "bind", False),
                     ("/etc", "/c", True, "volume v", False), ("/boot", "/d", False, "volume ro", False),
                     ("", "/h", True, "volume missing", True)]


# -- the checks over these readings ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def exposure_checks():
    from bench.catalog import load_checks

    return {c.id: c for c in load_checks(plugins=False)}


def _audit_one(check, inspect_changes):
    from bench.evaluate import run_check
    from helpers import apply_case, facts_of, hardened_data

    case = {"facts": {"containers": {"scope": "all"}}, "container": {"name": "web", "inspect": inspect_changes}}
    result = run_check(check, facts_of(apply_case(hardened_data(), case)))
    return next(i for i in result.items if i.resource == "web")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 1023), st.integers(0, 2000), st.sampled_from(["", "127.0.0.1", "::1", "10.0.0.5"]),
       st.booleans())
def test_any_range_that_includes_a_low_port_fails(exposure_checks, low, width, ip, running):
    binding = [{"HostIp": ip, "HostPort": f"{low}-{min(low + width, 65535)}"}]
    live = {"80/tcp": [{"HostIp": ip or "0.0.0.0", "HostPort": "40000"}]} if running else None
    item = _audit_one(exposure_checks["container-no-privileged-ports"], {
        "State": {"Running": running, "Status": "running" if running else "created"},
        "HostConfig": {"PortBindings": {"8443/tcp": "__delete__", "80/tcp": binding}},
        "NetworkSettings": {"Ports": live if running else None}})
    assert item.status.value == "FAIL", item


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(CAP_NAMES).flatmap(lambda n: st.tuples(st.just(n), _spellings(n))), st.booleans())
def test_any_spelling_of_an_added_capability_is_judged_alike(exposure_checks, pair, drop_all):
    name, spelling = pair
    item = _audit_one(exposure_checks["container-capabilities"],
                      {"HostConfig": {"CapAdd": [spelling], "CapDrop": ["ALL"] if drop_all else None}})
    assert item.status.value == ("PASS" if name in DEFAULT_CAPABILITIES else "FAIL"), item
