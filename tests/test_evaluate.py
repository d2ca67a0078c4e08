"""Evaluation: facts that were not collected, crashing checks, roll-up into recommendations."""
import pytest

from bench.check import check, container_check, failed, passed
from bench.evaluate import combine, evaluate, run_check
from bench.profile import Recommendation
from bench.selection import select_recommendations
from bench.results import CheckResult, Item
from bench.status import Status, worst
from helpers import facts_of, hardened_data


@check("t-needs-audit", title="t", needs=("audit",))
def needs_audit(facts):
    return passed("looked")


@check("t-crash", title="t")
def crashes(facts):
    raise KeyError("HostConfig")


@container_check("t-crash-on-db", title="t")
def crashes_on_db(container, facts):
    if container.name == "db":
        raise ValueError("odd data")
    return passed("fine")


def test_a_fact_not_collected_is_error_never_pass():
    data = hardened_data()
    data["audit"]["error"] = "cannot read the audit rules: permission denied"
    result = run_check(needs_audit, facts_of(data))
    assert result.status == Status.ERROR and "permission denied" in result.details


def test_a_fact_that_does_not_apply_is_skip():
    data = hardened_data()
    data["audit"] = {"error": None, "skipped": "the engine is remote"}
    assert run_check(needs_audit, facts_of(data)).status == Status.SKIP


def test_a_crashing_check_is_one_error_result():
    result = run_check(crashes, facts_of(hardened_data()))
    assert result.status == Status.ERROR and "t-crash crashed: KeyError" in result.details


def test_a_check_crashing_on_one_container_leaves_the_others_judged():
    result = run_check(crashes_on_db, facts_of(hardened_data()))
    assert result.status == Status.ERROR
    assert [(i.resource, i.status) for i in result.items] == [("db", Status.ERROR), ("web", Status.PASS)]
    assert "odd data" in result.items[0].detail


def test_worst_status_order():
    assert worst([Status.PASS, Status.FAIL, Status.ERROR]) == Status.FAIL
    assert worst([Status.PASS, Status.ERROR]) == Status.ERROR
    assert worst([Status.PASS, Status.SKIP]) == Status.PASS
    assert worst([Status.INFO, Status.PASS]) == Status.INFO
    assert worst([]) == Status.SKIP


def test_not_scored_violations_warn():
    rec = Recommendation("2.7", "2", "t", False, 1, ("a",), "fix", "automated", label="Not Scored", advisory=True)
    result = combine(rec, [CheckResult("a", Status.FAIL, "bad", [Item("x", Status.FAIL, "bad")])])
    assert result.status == Status.WARN and result.items[0].status == Status.WARN


def test_a_manual_recommendation_of_a_later_edition_still_fails_when_the_facts_say_so():
    rec = Recommendation("5.31", "5", "t", True, 1, ("a",), "fix", "automated", label="Manual")
    result = combine(rec, [CheckResult("a", Status.FAIL, "bad", [Item("x", Status.FAIL, "bad")])])
    assert result.status == Status.FAIL and result.label == "Manual"


def test_a_check_shared_by_recommendations_runs_once(profile, checks):
    calls = []

    @check("t-counted", title="t")
    def counted(facts):
        calls.append(1)
        return failed("x")

    recs = [Recommendation("1.1", "1", "a", True, 1, ("t-counted",), "", "automated"),
            Recommendation("1.2", "1", "b", True, 1, ("t-counted",), "", "automated")]
    results = evaluate(recs, {"t-counted": counted}, facts_of(hardened_data()))
    assert [r.status for r in results] == [Status.FAIL, Status.FAIL] and len(calls) == 1


def test_every_recommendation_is_judged_on_the_hardened_host(profile, checks):
    results = evaluate(select_recommendations(profile), checks.checks, facts_of(hardened_data()))
    by_status = {}
    for r in results:
        by_status.setdefault(r.status, []).append(r.id)
    assert len(results) == 83
    assert Status.FAIL not in by_status and Status.ERROR not in by_status, by_status
    manual = {r.id for r in profile.recommendations if r.automation == "manual"}
    assert manual <= set(by_status[Status.INFO])


def test_nothing_passes_on_a_host_where_nothing_was_collected(profile, checks):
    from bench.facts import Facts

    results = evaluate(select_recommendations(profile), checks.checks, Facts())
    passing = [r.id for r in results if r.status == Status.PASS]
    assert passing == []
    assert all(r.status == Status.ERROR for r in results)


def test_a_collector_that_breaks_loses_only_its_own_facts(monkeypatch, tmp_path):
    from bench.collect import CollectOptions, collect_facts, system
    from bench.engine_api.session import EngineOptions
    from bench.hostio import Host

    def broken(*args, **kwargs):
        raise ValueError("unexpected mountinfo line")

    monkeypatch.setattr(system, "collect_mounts", broken)
    options = CollectOptions(needs=("mounts", "audit"),
                             engine=EngineOptions(base_url=f"unix://{tmp_path}/none.sock", timeout=1))
    facts = collect_facts(Host(), options)
    assert facts.mounts.error == "collecting mounts facts failed: ValueError: unexpected mountinfo line"
    assert facts.audit.error is None  # the others were still collected


def test_an_internal_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    from bench import cli
    from bench.cli import audit

    monkeypatch.delenv("BENCH_DEBUG", raising=False)
    monkeypatch.setattr(audit, "run", lambda args: 1 / 0)
    assert cli.main(["--facts", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: ZeroDivisionError" in err


# -- which containers a recommendation judges --------------------------------------------------------

@container_check("t-not-privileged", title="t")
def not_privileged(container, facts):
    return failed("privileged") if container.get("HostConfig.Privileged", False) else passed("")


def _with_stopped_privileged(scope: str = "all"):
    import copy

    data = hardened_data()
    stopped = copy.deepcopy(data["containers"]["items"][0])
    stopped.update(id="f" * 64, name="old-job")
    stopped["inspect"].update(Id="f" * 64, Name="/old-job")
    stopped["inspect"]["State"] = {"Running": False, "Status": "exited"}
    stopped["inspect"]["HostConfig"]["Privileged"] = True
    data["containers"]["items"].append(stopped)
    data["containers"]["scope"] = scope
    return facts_of(data)


def _rec(containers: str) -> Recommendation:
    return Recommendation("5.4", "5", "t", True, 1, ("t-not-privileged",), "", "automated", containers=containers)


def test_a_recommendation_on_running_containers_does_not_judge_stopped_ones():
    facts, checks = _with_stopped_privileged(), {"t-not-privileged": not_privileged}
    running, every = evaluate([_rec("running"), _rec("all")], checks, facts)
    assert running.status == Status.PASS and {i.resource for i in running.items} == {"web", "db"}
    assert every.status == Status.FAIL and [i.resource for i in every.items if i.status == Status.FAIL] == ["old-job"]


def test_all_containers_asked_for_judges_stopped_ones_everywhere():
    facts, checks = _with_stopped_privileged(), {"t-not-privileged": not_privileged}
    running, every = evaluate([_rec("running"), _rec("all")], checks, facts, every_container=True)
    assert running.status == every.status == Status.FAIL


def test_an_edition_judging_all_containers_never_passes_on_running_ones_only():
    facts = facts_of(hardened_data())     # recorded without stopped containers
    [result] = evaluate([_rec("all")], {"t-not-privileged": not_privileged}, facts)
    assert result.status == Status.ERROR and "record them again" in result.details
    failing = _with_stopped_privileged(scope="running")   # a violation seen is still one
    [result] = evaluate([_rec("all")], {"t-not-privileged": not_privileged}, failing)
    assert result.status == Status.FAIL


@pytest.mark.parametrize("edition", ["cis-docker-1.6.0", "cis-docker-1.7.0", "cis-docker-1.8.0"])
def test_nothing_passes_in_any_edition_where_nothing_was_collected(edition, checks):
    from bench.facts import Facts
    from bench.profile import load_profile

    results = evaluate(select_recommendations(load_profile(edition)), checks.checks, Facts())
    assert results and all(r.status == Status.ERROR for r in results), [r.id for r in results if r.status != Status.ERROR]
