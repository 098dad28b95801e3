"""The BenchMARL door: every scenario is a task, and BenchMARL's algorithms train on it with no glue."""

import tempfile

import pytest
import torch

import recsim_marl

pytest.importorskip("benchmarl")
from benchmarl.algorithms import IqlConfig, MappoConfig  # noqa: E402
from benchmarl.experiment import Experiment, ExperimentConfig  # noqa: E402
from benchmarl.models.mlp import MlpConfig  # noqa: E402

from recsim_marl.integrations.benchmarl import RecSimTask, scenario_of  # noqa: E402


def test_every_scenario_is_a_task():
    assert {scenario_of(t.name) for t in RecSimTask} == set(recsim_marl.SCENARIOS)


def test_unknown_override_fails_by_name():
    with pytest.raises(TypeError, match="num_userz"):
        RecSimTask.TINY.get_task({"num_userz": 3}).get_env_fun(2, False, 0, "cpu")


def test_slates_are_refused_with_the_doors_that_take_them():
    with pytest.raises(ValueError, match="slate_size=3: BenchMARL's models give each agent one categorical"):
        RecSimTask.TINY.get_task({"slate_size": 3}).get_env_fun(2, False, 0, "cpu")


def _config(on_policy: bool) -> ExperimentConfig:
    cfg = ExperimentConfig.get_from_yaml()
    cfg.sampling_device = cfg.train_device = "cpu"
    cfg.max_n_frames = 400
    cfg.on_policy_collected_frames_per_batch = cfg.off_policy_collected_frames_per_batch = 200
    cfg.on_policy_n_envs_per_worker = cfg.off_policy_n_envs_per_worker = 8
    cfg.on_policy_minibatch_size = cfg.off_policy_train_batch_size = 100
    cfg.on_policy_n_minibatch_iters = 1
    cfg.off_policy_n_optimizer_steps = 4
    cfg.off_policy_init_random_frames = 0
    cfg.evaluation = False
    cfg.loggers = []
    cfg.create_json = False
    cfg.checkpoint_interval = 0
    cfg.save_folder = tempfile.mkdtemp()
    return cfg


@pytest.mark.parametrize("algorithm", [MappoConfig, IqlConfig], ids=["mappo", "iql"])
def test_benchmarl_trains_both_groups(algorithm):
    exp = Experiment(task=RecSimTask.TINY.get_task(), algorithm_config=algorithm.get_from_yaml(),
                     model_config=MlpConfig.get_from_yaml(), critic_model_config=MlpConfig.get_from_yaml(), seed=0,
                     config=_config(algorithm is MappoConfig))
    before = {k: v.detach().clone() for k, v in exp.policy.named_parameters()}
    exp.run()
    assert exp.total_frames == 400
    assert set(exp.group_map) == {"users", "items"}
    changed = [k for k, v in exp.policy.named_parameters() if not torch.equal(v, before[k])]
    nets = {k.split(".")[1] for k in before}  # the policy holds one network per group: module.0, module.1
    assert len(nets) == 2
    assert {k.split(".")[1] for k in changed} == nets  # and training moved both


def test_benchmarls_own_command_line_runs_a_scenario(tmp_path):
    """Issue 18: BenchMARL's Hydra command line could not run the tasks. ``python -m
    recsim_marl.integrations.benchmarl_run`` is BenchMARL's run.py with every scenario registered."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from recsim_marl.integrations.benchmarl_run import register

    assert set(register()) == {f"recsim_marl/{s}" for s in recsim_marl.SCENARIOS}
    (tmp_path / "out").mkdir()
    cmd = [sys.executable, "-m", "recsim_marl.integrations.benchmarl_run", "algorithm=mappo", "task=recsim_marl/tiny",
           "+task.num_users=6", "experiment.max_n_frames=200", "experiment.on_policy_collected_frames_per_batch=100",
           "experiment.on_policy_n_envs_per_worker=4", "experiment.on_policy_n_minibatch_iters=1",
           "experiment.evaluation=false", "experiment.render=false", "experiment.loggers=[]",
           f"experiment.save_folder={tmp_path / 'out'}", f"hydra.run.dir={tmp_path / 'hydra'}"]
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Algorithm: mappo, Task: recsim_marl/tiny" in out.stdout and "num_users: 6" in out.stdout
    assert any((tmp_path / "out").iterdir()), "BenchMARL wrote its experiment folder"
