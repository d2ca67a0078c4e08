"""The audit rule model: rule text as auditctl loads it (bench/audit_rules.py), and what the kernel
would record (bench/audit_coverage.py). tests/integration/test_audit_live.py checks the same
verdicts against this machine's kernel where it can."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.audit_coverage import docker_exec_recorded, file_coverage
from bench.audit_rules import augenrules_order, parse_rules

ON = {"enabled": "1", "pid": "812"}
DOCKERD = "/usr/bin/dockerd"


def loaded(*lines: str, status=ON):
    return parse_rules(lines, loaded=True, source="auditctl -l", status=status)


def declared(*lines: str, origins=None):
    return parse_rules(lines, loaded=False, source="/etc/audit/audit.rules", origins=origins)


def binary(rules, path=DOCKERD, **kw):
    return file_coverage(rules, path, executable=True, **kw)


# -- reading rules -------------------------------------------------------------------------------

def test_a_watch_is_an_exit_rule_on_all_syscalls_with_every_permission_unless_p_says_otherwise():
    (rule,) = declared("-w /etc/docker/ -k docker").rules
    assert (rule.list, rule.action, rule.syscalls, rule.watch) == ("exit", "always", None, True)
    assert [(f.name, f.value) for f in rule.fields] == [("path", "/etc/docker"), ("perm", "rwxa"), ("key", "docker")]
    (rule,) = declared("-w /x -p aw").rules
    assert rule.values("perm")[0].value == "wa"


def test_auditctl_l_forms_are_read():
    rules = loaded("-a never,task", "-w /usr/bin/dockerd -p rwxa -k docker",
                   "-a always,exit -F arch=b64 -S all -F path=/usr/bin/containerd -F perm=rwxa -F key=docker",
                   "-a always,exit -F arch=b64 -S execve,execveat -F key=exec",
                   "-a always,exclude -F msgtype=PATH", "-a never,filesystem -F fstype=tracefs").rules
    assert [(r.list, r.action) for r in rules] == [("task", "never"), ("exit", "always"), ("exit", "always"),
                                                   ("exit", "always"), ("exclude", "always"), ("filesystem", "never")]
    assert rules[2].syscalls is None and rules[3].syscalls == {"execve", "execveat"}
    assert loaded("No rules").rules == ()


@pytest.mark.parametrize("text", ["-a task,never", "-a never,task", "-A never,task"])
def test_list_and_action_in_either_order(text):
    (rule,) = declared(text).rules
    assert (rule.list, rule.action) == ("task", "never")


def test_A_puts_a_rule_first_and_D_deletes_what_came_before():
    rules = declared("-w /a -k one", "-w /b -k two", "-A never,exit -F path=/a").rules
    assert [r.text for r in rules] == ["-A never,exit -F path=/a", "-w /a -k one", "-w /b -k two"]
    assert [r.text for r in declared("-w /a -k one", "-D", "-w /b -k two").rules] == ["-w /b -k two"]
    assert [r.text for r in declared("-w /a -k one", "-w /b -k two", "-D -k one").rules] == ["-w /b -k two"]


def test_d_and_W_delete_the_rule_they_name():
    rules = declared("-w /a -p wa -k k", "-a always,exit -F path=/b -F perm=x", "-W /a -p wa -k k",
                     "-d always,exit -F path=/b -F perm=x").rules
    assert rules == ()


def test_a_rule_file_stops_at_the_first_rule_the_kernel_refuses_unless_it_says_c_or_i():
    rules = declared("-w /a -k k", "-w /a -k k", "-w /b -k k")
    assert [r.text for r in rules.rules] == ["-w /a -k k"]
    assert any("Rule exists" in n for n in rules.notes)
    assert any("/b" in n and "would not load" in n for n in rules.notes)
    going_on = declared("-c", "-w /a -k k", "-w /a -k k", "-w /b -k k")
    assert [r.text for r in going_on.rules] == ["-w /a -k k", "-w /b -k k"]
    locked = declared("-e 2", "-w /a -k k")
    assert locked.rules == () and locked.enabled == 2


def test_lines_auditctl_would_reject_are_noted_not_guessed():
    rules = declared("-a always,entry -S open", "-a sometimes,exit -F path=/x", "-w /x -S open", "-F path=/x",
                     "-w /ok")
    assert [r.text for r in rules.rules] == ["-w /ok"] and len(rules.notes) == 4


def test_enabled_comes_from_the_last_e_or_from_auditctl_s():
    assert declared("-e 0", "-w /a", "-e 1").enabled == 1
    rules = declared("-w /a", "-e 0", origins=["f:1", "f:2"])
    assert (rules.enabled, rules.enabled_by) == (0, "f:2")
    status = loaded("-w /a", status={"enabled": "2", "pid": "0"})
    assert (status.enabled, status.enabled_by, status.auditd_pid) == (2, "auditctl -s", 0)
    assert loaded("-w /a", status={}).enabled is None


def test_augenrules_order():
    lines, origins = augenrules_order([
        ("/etc/audit/rules.d/10-docker.rules", "-w /usr/bin/dockerd -k docker\n-e 2\n-b 320\n"),
        ("/etc/audit/rules.d/9-base.rules", "# base\n-D\n-b 8192\n-e 1\n\n-a never,task -F uid=42\n"),
        ("/etc/audit/rules.d/99-late.rules", "  -D\n-D -k old\n-f 1\n")])
    assert lines == ["-D", "-b 320", "-f 1", "-a never,task -F uid=42", "-w /usr/bin/dockerd -k docker", "-D -k old",
                     "-e 2"]
    assert origins[0] == "/etc/audit/rules.d/99-late.rules:1" and origins[-1] == "/etc/audit/rules.d/10-docker.rules:2"


# -- is a file watched? --------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", ["-w /usr/bin/dockerd -k docker", "-w /usr/bin/dockerd -p rwxa -k docker",
                                  "-a always,exit -F path=/usr/bin/dockerd -F perm=wxa",
                                  "-a always,exit -S all -F path=/usr/bin/dockerd -F key=docker",
                                  "-w /usr/bin -p wxa", "-a always,exit -F dir=/usr -F perm=wax", "-w / -k all"])
def test_rules_that_record_changes_and_executions_of_a_binary(rule):
    coverage = binary(loaded(rule))
    assert (coverage.status, coverage.rule, coverage.loaded, coverage.origin) == ("covered", rule, True, "auditctl -l")


@pytest.mark.parametrize("perms,status,missing", [
    ("wa", "partial", "executions"), ("x", "partial", "writes and attribute changes"),
    ("w", "partial", "attribute changes and executions"),
    ("r", "not covered", "writes, attribute changes and executions")])
def test_which_permissions_cover_a_binary(perms, status, missing):
    coverage = binary(loaded(f"-w /usr/bin/dockerd -p {perms}"))
    assert coverage.status == status and f"{missing} of /usr/bin/dockerd: no rule records them" in coverage.reason


def test_a_file_that_is_not_executable_needs_writes_and_attribute_changes_only():
    assert file_coverage(loaded("-w /etc/default/docker -p wa"), "/etc/default/docker").status == "covered"
    assert file_coverage(loaded("-w /etc/default/docker -p w"), "/etc/default/docker").status == "partial"
    assert file_coverage(loaded("-w /etc/default/docker -p rx"), "/etc/default/docker").status == "not covered"


def test_path_is_one_file_and_dir_is_a_tree():
    assert file_coverage(loaded("-a always,exit -F path=/etc -F perm=wa"), "/etc/docker/daemon.json").status == \
        "not covered"
    assert file_coverage(loaded("-a always,exit -F dir=/etc -F perm=wa"), "/etc/docker/daemon.json").status == "covered"
    assert file_coverage(loaded("-w /etc/docker -p wa"), "/etc/docker-old/x").status == "not covered"
    assert file_coverage(loaded("-w /etc/docker -p wa"), "/etc/docker", directory=True).status == "covered"
    partial = file_coverage(loaded("-a always,exit -F path=/etc/docker -F perm=wa"), "/etc/docker", directory=True)
    assert partial.status == "partial" and "what lies beneath /etc/docker: no rule records them" in partial.reason


def test_first_match_wins_a_never_rule_before_silences_after_does_not():
    watch, never = "-w /usr/bin/dockerd -p rwxa -k docker", "-a never,exit -F path=/usr/bin/dockerd"
    before = binary(loaded(never, watch))
    assert (before.status, before.rule) == ("not covered", never) and "comes first and silences them" in before.reason
    assert binary(loaded(watch, never)).status == "covered"
    assert binary(declared(watch, "-A never,exit -F dir=/usr")).rule == "-A never,exit -F dir=/usr"


def test_a_never_rule_that_does_not_match_the_access_silences_nothing():
    watch = "-w /usr/bin/dockerd -p rwxa"
    for never in ("-a never,exit -F path=/usr/bin/dockerd -F perm=r", "-a never,exit -F path=/usr/bin/docker",
                  "-a never,exit -F arch=b64 -S adjtimex -F auid=unset", "-a never,exit -F dir=/usr/bin/dockerd.d"):
        assert binary(loaded(never, watch)).status == "covered", never


def test_a_narrowed_never_rule_silences_some_accesses():
    coverage = binary(loaded("-a never,exit -F path=/usr/bin/dockerd -F auid=1000", "-w /usr/bin/dockerd"))
    assert coverage.status == "partial" and "when its auid field matches" in coverage.reason


def test_task_never_stops_all_syscall_auditing_and_task_always_records_everything():
    assert binary(loaded("-a never,task", "-w /usr/bin/dockerd")).status == "not covered"
    assert binary(loaded("-w /usr/bin/dockerd", "-a task,never")).status == "not covered"  # the task list goes first
    assert binary(loaded("-a never,task -F uid=0", "-w /usr/bin/dockerd")).status == "partial"
    assert binary(loaded("-a always,task", "-a never,exit -F path=/usr/bin/dockerd")).status == "covered"


@pytest.mark.parametrize("exclude,status", [
    ("-a always,exclude -F msgtype=SYSCALL", "not covered"), ("-a never,exclude -F msgtype=SYSCALL", "not covered"),
    ("-a always,exclude -F msgtype=PATH", "partial"), ("-a always,exclude -F msgtype!=CWD", "not covered"),
    ("-a always,exclude -F msgtype>=1300 -F msgtype<=1399", "not covered"),
    ("-a always,exclude -F msgtype=SYSCALL -F uid=33", "partial"), ("-a always,exclude -F exe=/usr/bin/vim", "partial"),
    ("-a always,exclude -F msgtype=CRYPTO_KEY_USER", "covered"), ("-a always,exclude -F msgtype=EXECVE", "covered")])
def test_exclude_rules_drop_records_of_a_file_watch(exclude, status):
    assert file_coverage(loaded("-w /etc/docker -p wa", exclude), "/etc/docker", directory=True).status == status


def test_auditing_switched_off_records_nothing():
    off = binary(declared("-w /usr/bin/dockerd", "-e 0", origins=["a.rules:1", "a.rules:9"]))
    assert (off.status, off.rule, off.origin) == ("disabled", "-e 0", "a.rules:9")
    assert "auditing is off (-e 0 at a.rules:9)" in off.reason
    kernel = binary(loaded("-w /usr/bin/dockerd", status={"enabled": "0", "pid": "0"}))
    assert (kernel.status, kernel.rule) == ("disabled", "auditctl -s: enabled 0")
    assert binary(loaded("-w /usr/bin/dockerd", status={"enabled": "2", "pid": "7"})).status == "covered"


def test_loaded_rules_count_only_when_auditing_is_known_on_and_auditd_takes_the_records():
    assert binary(loaded("-w /usr/bin/dockerd", status={})).status == "partial"
    nobody = binary(loaded("-w /usr/bin/dockerd", status={"enabled": "1", "pid": "0"}))
    assert nobody.status == "partial" and "no audit daemon" in nobody.reason


def test_rules_from_files_say_so():
    coverage = binary(declared("-D", "-w /usr/bin/dockerd", origins=["/etc/audit/rules.d/d.rules:1",
                                                                     "/etc/audit/rules.d/d.rules:4"]))
    assert (coverage.status, coverage.loaded, coverage.origin) == ("covered", False, "/etc/audit/rules.d/d.rules:4")


def test_symlink_the_target_is_what_the_kernel_records():
    target = "/usr/libexec/docker/dockerd"
    assert binary(loaded(f"-w {target}"), target=target).status == "covered"
    link = binary(loaded("-w /usr/bin/dockerd"), target=target)
    assert link.status == "partial" and "watches the symlink /usr/bin/dockerd itself" in link.reason
    assert binary(loaded("-w /usr/libexec/docker/dockerd-rootless.sh"), target=target).status == "not covered"


def test_32_bit_syscalls_count():
    b64 = "-a always,exit -F arch=b64 -S all -F path=/usr/bin/dockerd -F perm=rwxa"
    coverage = binary(loaded(b64))
    assert coverage.status == "partial" and "32-bit writes, attribute changes and executions" in coverage.reason
    assert binary(loaded(b64, b64.replace("b64", "b32"))).status == "covered"
    assert binary(loaded(b64, "-a always,exit -F arch!=b64 -F path=/usr/bin/dockerd")).status == "covered"


def test_explicit_syscall_lists_cover_only_those_syscalls():
    rules = loaded("-a always,exit -F arch=b64 -S openat,truncate -F path=/etc/default/docker",
                   "-a always,exit -F arch=b32 -S openat,truncate -F path=/etc/default/docker")
    coverage = file_coverage(rules, "/etc/default/docker")
    assert coverage.status == "partial" and "its syscall field matches" in coverage.reason
    never_timer = loaded("-a never,exit -F arch=b64 -S adjtimex", "-w /etc/default/docker")
    assert file_coverage(never_timer, "/etc/default/docker").status == "covered"


def test_file_systems_never_audited():
    assert binary(loaded("-w /usr/bin/dockerd", "-a never,filesystem -F fstype=debugfs")).status == "covered"
    assert binary(loaded("-w /usr/bin/dockerd", "-a never,filesystem -F fstype=61267")).status == "partial"


def test_a_watch_auditctl_l_lists_twice_may_be_a_never_rule():
    rules = loaded("-w /usr/bin/dockerd -p wa", "-w /usr/bin/dockerd -p x", "-w /usr/bin/dockerd -p wa")
    coverage = binary(rules)
    assert coverage.status == "partial" and "lists `-w /usr/bin/dockerd -p wa` twice" in coverage.reason


# -- are executions of the docker client recorded? --------------------------------------------------

@pytest.mark.parametrize("rules,status", [
    (["-w /usr/bin/docker -p x -k docker"], "covered"),
    (["-a always,exit -F path=/usr/bin/docker -F perm=x"], "covered"),
    (["-a always,exit -F arch=b64 -S execve", "-a always,exit -F arch=b32 -S execve"], "covered"),
    (["-a always,exit -F arch=b64 -S execve -F exe=/usr/bin/docker",
      "-a always,exit -F arch=b32 -S execve -F exe=/usr/bin/docker"], "covered"),
    (["-a always,exit -F arch=b64 -S execve"], "partial"),
    (["-a always,exit -S execve"], "partial"),  # without arch: execve's number in the 64-bit table only
    (["-a always,exit -F arch=b64 -S execve -F auid>=1000"], "partial"),
    (["-a always,exit -S all -F arch=b64 -F exe=/usr/bin/dockerd",
      "-a always,exit -F arch=b32 -F exe=/usr/bin/dockerd"],
     "not covered"),
    (["-w /usr/bin/docker -p wa"], "not covered"),
    (["-w /usr/bin/docker -p x", "-a always,exclude -F msgtype=EXECVE"], "not covered"),
    (["-w /usr/bin/docker -p x", "-a always,exclude -F msgtype=PATH"], "covered"),
    (["-w /usr/bin/docker -p x", "-a always,exclude -F exe=/usr/bin/docker"], "not covered"),
    (["-a never,exit -S all -F exe=/usr/bin/docker", "-w /usr/bin/docker -p x"], "not covered"),
    (["-w /usr/bin/docker -p x", "-a never,exit -S all -F exe=/usr/bin/docker"], "covered"),
    (["-a never,task", "-w /usr/bin/docker -p x"], "not covered"),
    ([], "not covered"),
])
def test_docker_exec_recorded(rules, status):
    assert docker_exec_recorded(loaded(*rules), ["/usr/bin/docker"]).status == status


def test_docker_exec_recorded_names_what_decides():
    coverage = docker_exec_recorded(loaded("-a never,exit -F path=/usr/bin/docker", "-w /usr/bin/docker -p x"),
                                    ["/usr/bin/docker"])
    assert coverage.rule == "-a never,exit -F path=/usr/bin/docker"
    assert "executions of /usr/bin/docker" in coverage.reason
    two = docker_exec_recorded(loaded("-w /usr/bin/docker -p x"), ["/usr/bin/docker", "/usr/local/bin/docker"])
    assert two.status == "partial" and "/usr/local/bin/docker: no rule records them" in two.reason
    # auditctl -s, not a stray -e line, says whether the kernel audits
    assert docker_exec_recorded(loaded("-w /usr/bin/docker -p x", "-e 0"), ["/usr/bin/docker"]).status == "covered"
    assert docker_exec_recorded(declared("-w /usr/bin/docker", "-e 0"), ["/usr/bin/docker"]).status == "disabled"
    assert docker_exec_recorded(loaded("-w /usr/bin/docker"), []).status == "not covered"


# -- properties --------------------------------------------------------------------------------------

RELATED = ["/usr/bin/dockerd", "/usr/bin", "/usr", "/"]
UNRELATED = ["/usr/bin/docker", "/usr/bin/dockerd-old", "/usr/bin/dockerd.d", "/etc/docker", "/var/lib/docker",
             "/usr/libexec"]
PERMS = st.sets(st.sampled_from("rwxa"), min_size=1).map(lambda s: "".join(sorted(s, key="rwxa".index)))
NARROW = st.sampled_from(["", " -F auid>=1000", " -F uid=0", " -F success=1"])
ARCH = st.sampled_from(["", " -F arch=b64", " -F arch=b32"])


def _rules(paths):
    path = st.sampled_from(paths)
    watch = st.builds(lambda p, perm: f"-w {p} -p {perm} -k k", path, PERMS)
    syscall = st.builds(lambda action, arch, kind, p, perm, narrow:
                        f"-a {action},exit{arch} -S all -F {kind}={p} -F perm={perm}{narrow}",
                        st.sampled_from(["always", "never"]), ARCH, st.sampled_from(["path", "dir"]), path, PERMS,
                        NARROW)
    exclude = st.builds(lambda t: f"-a always,exclude -F msgtype={t}",
                        st.sampled_from(["CWD", "PROCTITLE", "CRYPTO_KEY_USER"] + (["SYSCALL", "PATH"] if
                                                                                   paths is RELATED else [])))
    return st.one_of(watch, syscall, exclude)


ANY_RULES = st.lists(st.one_of(_rules(RELATED), _rules(UNRELATED)), max_size=8, unique=True)


@settings(max_examples=300, deadline=None)
@given(ANY_RULES, st.data())
def test_a_matching_never_rule_before_the_covering_rule_never_leaves_it_covered(rules, data):
    before = binary(loaded(*rules))
    if before.status != "covered":
        return
    deciding = rules.index(before.rule)
    at = data.draw(st.integers(0, deciding))
    never = data.draw(st.sampled_from(["-a never,exit -F path=/usr/bin/dockerd", "-a never,exit -F dir=/usr/bin",
                                       "-a never,exit -S all -F dir=/"]))
    assert binary(loaded(*rules[:at], never, *rules[at:])).status != "covered"
    assert binary(loaded(never, *rules)).status == "not covered"


@settings(max_examples=300, deadline=None)
@given(ANY_RULES, st.lists(_rules(UNRELATED), max_size=5, unique=True), st.booleans())
def test_appending_unrelated_rules_never_changes_a_verdict(rules, extra, from_files):
    make = (lambda *r: declared(*r)) if from_files else (lambda *r: loaded(*r))
    extra = [r for r in extra if r not in rules]
    before, after = binary(make(*rules)), binary(make(*rules, *extra))
    assert (after.status, after.rule) == (before.status, before.rule)


@settings(max_examples=200, deadline=None)
@given(PERMS, PERMS)
def test_more_permissions_on_a_watch_never_cover_less(some, more):
    rank = {"not covered": 0, "partial": 1, "covered": 2}
    more = "".join(sorted(set(some) | set(more), key="rwxa".index))
    fewer, all_of = binary(loaded(f"-w {DOCKERD} -p {some}")), binary(loaded(f"-w {DOCKERD} -p {more}"))
    assert rank[fewer.status] <= rank[all_of.status]


@settings(max_examples=200, deadline=None)
@given(ANY_RULES)
def test_a_rule_file_and_auditctl_l_agree_when_auditing_is_on(rules):
    kernel, files = binary(loaded(*rules)), binary(declared(*rules))
    if kernel.status == "covered":
        assert files.status == "covered" and not files.loaded and kernel.loaded
