"""Claims (dcgan_lib.core.results.claim) and the book's seed: a claim is recorded and judged, never raised."""
import json

import pytest

from dcgan_lib import zoo
from dcgan_lib.core import results
from dcgan_lib.core.profiles import book_seed, get_profile


def test_a_claim_that_holds_and_one_that_does_not_are_both_recorded_and_nothing_is_raised(tmp_cache, capsys):
    held = results.claim("training", "fid_ratio", 0.1, "<=", 0.2, "book", statement="FD falls to a fifth")
    missed = results.claim("training", "memorisation", 0.5, ">=", 0.8, "book", statement="no copies")
    assert held.holds and held.judged and not missed.holds
    out = capsys.readouterr().out
    assert "holds on this build's models: yes (0.1 <= 0.2)" in out and "NO (0.5 >= 0.8)" in out
    recorded = {c["name"]: c for c in results.load_claims("training")}
    assert recorded["fid_ratio"]["holds"] is True and recorded["memorisation"]["holds"] is False
    failed, judged = results.failed_claims("book")
    assert judged == 2 and [c["name"] for c in failed] == ["memorisation"]


def test_a_claim_measured_at_another_profile_than_its_bar_is_recorded_but_not_judged(tmp_cache, capsys):
    found = results.claim("walks", "smooth", 0.5, ">=", 0.95, "ci", statement="walks are smooth")
    assert not found.judged and "not judged at ci" in capsys.readouterr().out
    assert results.failed_claims("ci") == ([], 0)


def test_a_claim_again_replaces_its_earlier_value(tmp_cache):
    results.claim("walks", "smooth", 0.5, ">=", 0.95, "book", statement="s")
    results.claim("walks", "smooth", 0.97, ">=", 0.95, "book", statement="s")
    assert [c["value"] for c in results.load_claims("walks")] == [0.97]


def test_a_verdict_says_how_often_it_held_in_the_robustness_table(tmp_cache, tmp_path, monkeypatch, capsys):
    record = tmp_path / "robustness.json"
    record.write_text(json.dumps({"claims": {"forgetting/bed": {"seeds": {
        "0": {"holds": True}, "1": {"holds": False}, "2": {"holds": True}}}}}))
    monkeypatch.setattr(results, "ROBUSTNESS_FILE", record)
    found = results.claim("forgetting", "bed", 0.2, "<", 0.1, "book", statement="beds stay")
    assert not found.holds and "How robust is each claim" in capsys.readouterr().out
    assert results.held_on("forgetting", "bed").startswith("held on 2 of 3")
    failed, judged = results.failed_claims("book", hard_only=True)
    assert failed == [] and judged == 1   # a verdict never fails a strict build
    assert not results.is_hard(results.load_claims("forgetting")[0])


def test_an_unknown_comparison_is_refused():
    with pytest.raises(ValueError, match="'=='"):
        results.claim("x", "y", 1, "==", 1, "book", statement="s")


def test_each_seed_keeps_its_figures_and_claims_apart(tmp_cache, monkeypatch):
    results.record("training", "fid", 10.0, "book", "rooms")
    monkeypatch.setenv("DCGAN_SEED", "2")
    assert results.results_dir().name == "metrics-seed2" and results.load("training") == []
    results.claim("training", "fid_ratio", 0.1, "<=", 0.2, "book", statement="s")
    assert results.load_claims(seed=2)[0]["seed"] == 2 and results.load_claims(seed=0) == []


def test_the_seed_names_the_option_a_user_typed_when_it_is_wrong(monkeypatch):
    monkeypatch.setenv("DCGAN_SEED", "one")
    with pytest.raises(ValueError, match="SEED=.*whole number"):
        book_seed()


def test_another_seed_trains_other_models_and_seed_0_keeps_the_stored_ones(monkeypatch):
    base = zoo.model_config("rooms", "book")
    monkeypatch.setenv("DCGAN_SEED", "1")
    other = get_profile("book")
    assert other.seed == 1 and zoo.model_config("rooms", other).seed == 1
    assert zoo.autoencoder_config("rooms", other).seed == 1 and zoo.conditional_config("dcgan", other).seed == 1
    assert zoo.judge_config("rooms", other) == zoo.judge_config("rooms", get_profile("book", seed=0))  # instruments
    assert zoo.generator_seeds(3, other) == [3, 4, 5]
    assert zoo.generator_seeds(3, get_profile("book", seed=0)) == [0, 1, 2]
    assert base == zoo.model_config("rooms", get_profile("book", seed=0)) and base.seed == 0
    assert zoo.run_dir_for("rooms", base) != zoo.run_dir_for("rooms", zoo.model_config("rooms", other))


def test_a_timed_claim_on_a_busy_machine_is_recorded_with_its_reason_and_not_judged(tmp_cache, capsys):
    found = results.claim("scaling", "ratio", 7, "<=", 5, "book", statement="s", unjudged_because="busy (load 3.2)")
    assert not found.judged and "busy (load 3.2)" in capsys.readouterr().out
    assert results.failed_claims("book") == ([], 0)


def test_a_claim_is_hard_only_where_it_held_on_every_seed_of_at_least_three(tmp_cache, tmp_path, monkeypatch):
    seeds = {"0": {"holds": True}, "1": {"holds": True}}
    record = tmp_path / "robustness.json"
    monkeypatch.setattr(results, "ROBUSTNESS_FILE", record)
    assert not results.is_robust("training", "fid")                      # not in the table: a verdict
    record.write_text(json.dumps({"claims": {"training/fid": {"seeds": seeds}}}))
    assert not results.is_robust("training", "fid")                      # two seeds are not enough
    record.write_text(json.dumps({"claims": {"training/fid": {"seeds": {**seeds, "2": {"holds": True}}}}}))
    assert results.is_robust("training", "fid")
    results.claim("training", "fid", 0.3, "<=", 0.2, "book", statement="s")
    failed, _ = results.failed_claims("book", hard_only=True)
    assert [c["name"] for c in failed] == ["fid"]   # the kind is read when the build ends, not when it ran
    results.claim("training", "forced", 0.3, "<=", 0.2, "book", statement="s", hard=False)
    assert not results.is_hard(results.load_claims("training")[-1])


def test_the_robustness_table_is_built_from_each_seeds_recorded_claims(tmp_cache, tmp_path, monkeypatch, capsys):
    from dcgan_lib.tooling import robustness

    for seed, value in ((0, 0.1), (1, 0.3), (2, 0.15)):
        monkeypatch.setenv("DCGAN_SEED", str(seed))
        results.claim("training", "fid_ratio", value, "<=", 0.2, "book", statement="FD falls", was="|FD| <= 0.1")
        results.claim("walks", "smooth", 0.99, ">=", 0.95, "book", statement="smooth")
        results.claim("walks", "ci_only", 0.5, ">=", 0.95, "ci", statement="not judged")
    monkeypatch.setattr(results, "ROBUSTNESS_FILE", tmp_path / "robustness.json")
    assert robustness.main(["--seeds", "0", "1", "2"]) == 0
    record = json.loads((tmp_path / "robustness.json").read_text())
    assert set(record["claims"]) == {"training/fid_ratio", "walks/smooth"}
    fid = record["claims"]["training/fid_ratio"]
    assert fid["held"] == 2 and fid["kind"] == "verdict"
    assert record["claims"]["walks/smooth"]["kind"] == "hard"
    out = capsys.readouterr().out
    row = "| training/fid_ratio: FD falls | <= 0.2 (was \\|FD\\| <= 0.1) | 0.1 | 0.3 ✗ | 0.15 | 2 of 3 | verdict |"
    assert row in out
    assert results.is_robust("walks", "smooth") and not results.is_robust("training", "fid_ratio")
    assert robustness.main(["--seeds", "7"]) == 1


def test_a_timed_claim_a_busy_build_left_unjudged_keeps_its_earlier_entry(tmp_cache, tmp_path, monkeypatch):
    """A rebuild on a busy machine records a timed claim without judging it: the record keeps the value an
    earlier build judged for that seed, and says so, instead of dropping the claim."""
    from dcgan_lib.tooling import robustness

    monkeypatch.setattr(results, "ROBUSTNESS_FILE", tmp_path / "robustness.json")
    results.claim("dedup", "speed", 5.0, ">", 4.0, "book", statement="fast")
    assert robustness.main(["--seeds", "0"]) == 0
    results.claim("dedup", "speed", 2.0, ">", 4.0, "book", statement="fast", unjudged_because="the load was 3")
    results.claim("dedup", "new_timed", 2.0, ">", 4.0, "book", statement="new", unjudged_because="the load was 3")
    assert robustness.main(["--seeds", "0"]) == 0
    claims = json.loads((tmp_path / "robustness.json").read_text())["claims"]
    kept = claims["dedup/speed"]["seeds"]["0"]
    assert (kept["value"], kept["holds"]) == (5.0, True) and "the load was 3" in kept["kept"]
    assert "dedup/new_timed" not in claims   # never judged: nothing to keep
