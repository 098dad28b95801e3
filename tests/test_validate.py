"""benchmarks.validate: one protocol run of a learner, with options changed, scored on the validation split
beside the memory policy and the linear ranker (a smoke run of the whole path)."""

import json

import pytest

from benchmarks import validate


def test_validate_trains_a_protocol_run_with_changed_options_and_scores_it_on_validation_worlds(tmp_path):
    out = tmp_path / "v.json"
    payload = validate.main(["--task", "default-v2", "--learner", "mappo", "--set", "lr=3e-4", "--set", "ent-coef=0",
                             "--worlds", "2", "--quick", "--out", str(out)])
    assert payload["split"] == "validation" and payload["worlds"] == [2000, 2001]  # never the test split
    assert payload["made_by"]["command"].startswith("python -m benchmarks.validate --task default-v2")
    assert payload["made_by"]["commit"]
    assert payload["set"] == {"lr": 3e-4, "ent_coef": 0} and payload["train"]["options"] == {"lr": 3e-4, "ent_coef": 0}
    assert payload["train"]["train_seed"] == 0  # run 0's training worlds, as the protocol's
    assert payload["train"]["training"]["entropy"]["updates"] == payload["train"]["total_steps"] // (4 * 10)
    rows = payload["rows"]
    assert set(rows) == {"MAPPO", "memory", "linear ranker"}
    assert all(len(r["per_world"]) == 2 for r in rows.values())
    d = rows["MAPPO"]["minus memory"]
    diffs = [a - b for a, b in zip(rows["MAPPO"]["per_world"], rows["memory"]["per_world"])]
    assert d["mean"] == pytest.approx(sum(diffs) / 2)
    assert json.loads(out.read_text())["rows"]["memory"]["mean"] == rows["memory"]["mean"]


@pytest.mark.parametrize("argv, message", [
    (["--set", "leraning_rate=1"], "mappo has no option 'leraning_rate'"),
    (["--set", "lr"], "write KEY=VALUE"),
    (["--set", "total_steps=5"], "the protocol sets total_steps for every run of a task"),
    (["--set", "lr=-1"], "--lr must be > 0; got -1"),
    (["--run", "40"], "--run must be in 0..30"),
    (["--worlds", "0"], "--worlds must be in 1..8000"),
])
def test_validate_refuses_bad_input_before_training(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit):
        validate.main(["--task", "default-v2", "--learner", "mappo", "--quick", "--out", str(tmp_path / "v.json"), *argv])
    assert message in capsys.readouterr().err
    assert not (tmp_path / "v.json").exists()
