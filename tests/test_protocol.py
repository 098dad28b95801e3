"""The benchmark protocol: versioned tasks whose worlds cannot change silently, seeds named once, and
the one command that runs every task x policy x seed (issue 17 item 4)."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
import torch

import recsim_marl
from agents.baselines import top
from recsim_marl.core.observation import FIELDS
from recsim_marl.protocol import EVAL_SEED, FRESH_SEED, TASKS, TRAINING_SEED, TUNING_SEED


def fingerprint(task) -> str:
    """A digest of the task's config (every field, test split), its observation fields, and a few greedy
    steps of two of its test worlds (hash encoder, small sizes: the mechanics, cheaply)."""
    config = task.config("test")
    # a mechanism that is off is not part of the world (fields added with it leave old tasks' fingerprints be)
    fields = {f.name: repr(getattr(config, f.name)) for f in dataclasses.fields(config)
              if f.name not in config.inert_fields()}
    small = config.replace(num_users=6, num_items=24, encoder="hash")
    venv = recsim_marl.VecEnv(small, 2, validate=False)
    obs = venv.reset(seed=list(task.eval_seeds)[:2])
    lay = venv.layouts["users"]
    trace = []
    for _ in range(5):
        users = top(lay.read(obs["users"], "candidate_relevance"), config.slate_size)
        obs, rew, *_ = venv.step({"users": users, "items": torch.zeros(2, 24, dtype=torch.long)})
        trace.append(round(float(rew["users"].sum()), 4))
    observation = {g: [(f.name, f.shape) for f in fs if f.present(config)] for g, fs in FIELDS.items()}  # what agents see
    # what the learning group's own scripted stand-in would be is not part of its task
    spec = {k: v for k, v in dataclasses.asdict(task).items() if k != f"{task.learn}_policy"}
    blob = json.dumps({"config": fields, "task": spec, "trace": trace, "observation": observation},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# When a test below fails, the world or the evaluation of a task changed: publish it as a new version
# (retention-v2, ...) and pin its fingerprint here; never change a published version's world.
FINGERPRINTS = {
    "retention-v2": "4f91d3cc52055c61",
    "boredom-v2": "f3d05d1b9d185e3a",
    "default-v2": "28fa69574e5d6e1d",
    "creators-v1": "4cb955361c866d12",
    "creators-v2": "6103a5bc4a8ed20e",
    "slates-v1": "0b5c8814bc8bc601",
    "slates-retention-v1": "7e36851789d303fd",
}


def test_every_task_is_pinned_and_unchanged():
    got = {name: fingerprint(task) for name, task in TASKS.items()}
    assert set(got) == set(FINGERPRINTS), "every task needs its pinned fingerprint"
    changed = {n: g for n, g in got.items() if g != FINGERPRINTS[n]}
    assert not changed, f"the world of {sorted(changed)} changed: make a new task version; new fingerprints {changed}"


def test_tasks_and_seed_ranges_do_not_overlap():
    assert TRAINING_SEED < TUNING_SEED < EVAL_SEED < FRESH_SEED
    for name, task in TASKS.items():
        assert name.rsplit("-v", 1)[1].isdigit() and task.name == name
        assert task.config("train").split == "train" and task.config("test").split == "test"
        assert task.eval_episodes >= 10 and EVAL_SEED <= min(task.eval_seeds) and max(task.eval_seeds) < FRESH_SEED


def test_the_protocol_runs_every_policy_on_test_worlds_and_reports_iqm_with_ci(tmp_path, monkeypatch):
    from agents import baselines
    from benchmarks import protocol

    seen = {"train": set(), "test": set()}
    real = baselines.episode_returns

    def spy(config, users, items, seeds):
        seen[config.split].update(seeds.tolist())
        return real(config, users, items, seeds)

    monkeypatch.setattr(baselines, "episode_returns", spy)
    monkeypatch.setattr(protocol, "episode_returns", spy)
    out = tmp_path / "protocol.json"
    payload = protocol.main(["--quick", "--tasks", "boredom-v2", "--seeds", "2", "--reps", "200", "--out", str(out),
                             "--learners", "mappo", "iql", "mappo-memory"])
    rows = payload["results"]["boredom-v2"]
    assert set(rows) == {"random", "popularity", "greedy", "model-based", "open loop", "memory", "linear ranker",
                         "myopic oracle*", "farsighted oracle*", "MAPPO", "IQL", "MAPPO-MEMORY"}
    assert rows["MAPPO-MEMORY"]["info"][0]["options"] == {"memory": True} and rows["MAPPO"]["info"][0]["options"] == {}
    best = rows["MAPPO"]["versus"]["policy"]  # the strongest simple policy: scripted and not privileged
    assert best not in ("MAPPO", "IQL", "MAPPO-MEMORY") and not best.endswith("*")
    assert rows[best]["iqm"] == max(r["iqm"] for n, r in rows.items() if n.islower() and not n.endswith("*"))
    for name, row in rows.items():
        assert len(row["per_seed"]) == 2 and len(row["per_world"][0]) == protocol.QUICK["eval_episodes"], name
        assert row["ci_low"] <= row["iqm"] <= row["ci_high"], name
        vs = row["versus"]
        assert vs["policy"] == best and vs["ci"][0] <= vs["paired_difference"] <= vs["ci"][1], name
        assert vs["per_seed_ratio"] == pytest.approx([m / float(torch.tensor(rows[best]["per_world"]).mean())
                                                      for m in row["per_seed"]], abs=1e-3), name
    assert rows[best]["versus"]["paired_difference"] == 0
    # tuning saw training-split worlds only, results test-split worlds only, on the held-out seeds
    assert seen["test"] == set(range(EVAL_SEED, EVAL_SEED + protocol.QUICK["eval_episodes"]))
    assert seen["train"] and max(seen["train"]) < EVAL_SEED
    assert out.exists() and out.with_suffix(".md").read_text().startswith("| task (score) | policy |")
    assert json.loads(out.read_text())["quick"] is True


def test_a_slate_task_runs_every_policy_with_slates(tmp_path):
    from benchmarks import protocol

    slates = [n for n, t in TASKS.items() if t.config().slate_size > 1]
    assert slates, "a slate task is registered (issue 20)"
    payload = protocol.main(["--quick", "--tasks", slates[0], "--seeds", "1", "--reps", "200", "--out",
                             str(tmp_path / "p.json"), "--learners", "mappo", "iql"])
    rows = payload["results"][slates[0]]
    assert set(rows) == {"random", "popularity", "greedy", "model-based", "open loop", "memory", "linear ranker",
                         "myopic oracle*", "farsighted oracle*", "MAPPO", "IQL"}
    assert all(row["ci_low"] <= row["iqm"] <= row["ci_high"] for row in rows.values())
    assert rows["random"]["mean"] < rows["myopic oracle*"]["mean"]


def test_an_item_task_scores_each_creators_profit_against_the_scripted_creators(tmp_path):
    from benchmarks import protocol

    payload = protocol.main(["--quick", "--tasks", "creators-v1", "--seeds", "2", "--reps", "200", "--out",
                             str(tmp_path / "p.json"), "--learners", "mappo"])
    rows = payload["results"]["creators-v1"]
    assert set(rows) == {"random", "no promotion", "promote when shown", "quality-first", "clickbait-first",
                         "copy-trend", "MAPPO"}
    assert rows["MAPPO"]["info"][0]["train_seed"] == 0 and len(rows["MAPPO"]["per_seed"]) == 2
    assert rows["quality-first"]["mean"] < rows["no promotion"]["mean"]  # making quality costs more than it earns
    assert "creators-v1 (profit per creator)" in (tmp_path / "p.md").read_text()


def test_protocol_results_accumulate_across_runs_and_drop_old_versions(tmp_path):
    from benchmarks import protocol

    out = tmp_path / "protocol.json"
    out.write_text(json.dumps({"results": {"boredom-v2": {"random": {"iqm": 1.0}, "MAPPO": {"iqm": 2.0}},
                                           "boredom-v1": {"random": {"iqm": 0.5}}}}))
    payload = protocol.merged(out, {"boredom-v2": {"MAPPO": {"iqm": 3.0}}, "default-v2": {"IQL": {"iqm": 4.0}}},
                              fresh=False)
    assert payload["results"] == {"boredom-v2": {"random": {"iqm": 1.0}, "MAPPO": {"iqm": 3.0}},
                                  "default-v2": {"IQL": {"iqm": 4.0}}}  # v1 is no longer a task: dropped
    assert set(payload["tasks"]) == {"boredom-v2", "default-v2"}
    assert protocol.merged(out, {"default-v2": {"IQL": {"iqm": 4.0}}}, fresh=True)["results"] == {
        "default-v2": {"IQL": {"iqm": 4.0}}}
    out.write_text("not json")
    with pytest.raises(SystemExit, match="not a protocol result.*--fresh"):
        protocol.merged(out, {}, fresh=False)


def test_a_task_run_in_pieces_keeps_every_run_and_recomputes_its_statistics(tmp_path):
    """``--runs 0 1`` then ``--runs 1 2``: the file holds runs 0, 1 (the newer) and 2, and the IQM, CI and
    per-seed values are those of all three."""
    from benchmarks import protocol

    out = tmp_path / "protocol.json"

    def row(runs, value):
        return {"runs": runs, "per_world": [[value + r] * 4 for r in runs], "info": [{"r": r} for r in runs]}

    first = protocol.merged(out, {"boredom-v2": {"IQL": row([0, 1], 10.0)}}, fresh=False, reps=100)
    out.write_text(json.dumps(first))
    both = protocol.merged(out, {"boredom-v2": {"IQL": row([2, 1], 20.0)}}, fresh=False, reps=100)
    got = both["results"]["boredom-v2"]["IQL"]
    assert got["runs"] == [0, 1, 2] and got["per_seed"] == [10.0, 21.0, 22.0]
    assert [i["r"] for i in got["info"]] == [0, 1, 2]
    assert got["mean"] == pytest.approx((10 + 21 + 22) / 3) and got["ci_low"] <= got["iqm"] <= got["ci_high"]


def test_the_confidence_interval_is_reproducible_and_leaves_numpy_global_generator_alone():
    """The same scores give the same interval in every invocation (rliable 1.2 resamples from numpy's global
    generator whatever generator it is given: a rerun's fixed rows moved in the second decimal), and the
    caller's global numpy stream is where it was."""
    import numpy as np

    from benchmarks import protocol

    scores = np.random.RandomState(1).rand(5, 20)
    np.random.seed(123)
    expected_next = np.random.rand()
    np.random.seed(123)
    first = protocol.iqm_ci(scores, reps=500)
    assert np.random.rand() == expected_next
    np.random.rand(1000)  # whatever the global generator's state, the interval is the same
    assert protocol.iqm_ci(scores, reps=500) == first
    assert first[1] < first[0] < first[2]


def test_scripted_rows_can_be_run_alone_and_an_unknown_row_is_named(tmp_path, capsys):
    """``--scripted memory --learners``: one row run alone (merged into a task's results, it leaves the other
    rows be: :func:`merged`); a misspelt row is refused with the list of rows."""
    from benchmarks import protocol

    out = tmp_path / "p.json"
    payload = protocol.main(["--quick", "--tasks", "boredom-v2", "--seeds", "1", "--reps", "100", "--out", str(out),
                             "--learners", "--scripted", "memory"])
    assert set(payload["results"]["boredom-v2"]) == {"memory"}
    assert payload["results"]["boredom-v2"]["memory"]["info"][0]["settings"]
    with pytest.raises(SystemExit):
        protocol.main(["--quick", "--tasks", "boredom-v2", "--scripted", "memroy", "--out", str(out)])
    assert "unknown scripted row(s) ['memroy']" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a users' row asked of a creators' task
        protocol.main(["--quick", "--tasks", "creators-v2", "--scripted", "memory", "--out", str(out)])
    assert "--scripted memory: no row of task creators-v2" in capsys.readouterr().err
