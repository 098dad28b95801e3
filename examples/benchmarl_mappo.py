"""BenchMARL's MAPPO on a recsim_marl scenario: both groups learn, the worlds stepped as one batch.

    pip install benchmarl        # with your torch (see the README)
    python examples/benchmarl_mappo.py
"""

import tempfile

from benchmarl.algorithms import MappoConfig
from benchmarl.experiment import Experiment, ExperimentConfig
from benchmarl.models.mlp import MlpConfig

from recsim_marl.integrations.benchmarl import RecSimTask

config = ExperimentConfig.get_from_yaml()
config.sampling_device = config.train_device = "cpu"
config.max_n_frames = 12_000                      # env steps x worlds
config.on_policy_collected_frames_per_batch = 1_600
config.on_policy_n_envs_per_worker = 64           # worlds stepped together by the batched core
config.evaluation_interval = 4_800
config.evaluation_episodes = 4
config.loggers = ["csv"]
config.save_folder = tempfile.mkdtemp()
config.checkpoint_interval = 0

experiment = Experiment(
    task=RecSimTask.TINY.get_task(),              # any scenario; get_task({"num_users": 8}) overrides its config
    algorithm_config=MappoConfig.get_from_yaml(),
    model_config=MlpConfig.get_from_yaml(),
    critic_model_config=MlpConfig.get_from_yaml(),
    seed=0,
    config=config,
)
experiment.run()
print(f"trained on {experiment.total_frames} frames; logs in {config.save_folder}")
