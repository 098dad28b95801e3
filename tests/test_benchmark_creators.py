"""benchmarks.creators end to end at a smoke budget: every row, what the learned creators' promotion adds,
and reloading finished runs instead of training them again."""

from benchmarks import creators


def test_the_creators_benchmark_runs_reports_promotion_and_reuses_finished_runs(tmp_path):
    argv = ["--quick", "--runs", "1", "--reps", "50", "--users", "model-based", "--no-gate-only",
            "--out", str(tmp_path / "c.json")]
    first = creators.main(argv)
    res = first["results"]["no gate"]
    assert first["users"] == "model-based" and first["gate_effect_on_mappo"] is None
    assert {"never-publish", "quality-first", "clickbait-first", "copy-trend", "promote when shown", "MAPPO",
            "MAPPO, no promotion"} == set(res["summary"])
    assert 0.0 <= res["mappo_mean_level"][0] <= 3.0
    assert set(res["mappo_vs_scripted"]) == {"never-publish", "quality-first", "clickbait-first", "copy-trend",
                                             "promote when shown"}
    assert res["mappo_vs_best_scripted"] == res["mappo_vs_scripted"][res["best_scripted"]]
    assert (tmp_path / "runs" / "creators_model-based_gateNone_run0" / "checkpoint.pt").exists()
    again = creators.main([*argv, "--reuse"])
    info = again["results"]["no gate"]["mappo_runs"][0]
    assert info["reused"].endswith("creators_model-based_gateNone_run0") and info["train_seconds"] is None
    # the same learned creators, reloaded: the same evaluation
    assert again["results"]["no gate"]["raw"]["MAPPO"] == res["raw"]["MAPPO"]
