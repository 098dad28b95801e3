"""Run by tests/test_distributed.py under torchrun: on each rank, MAPPO trained to the end, then the
same run stopped early and resumed; prints each result's parameter digest and where it logged."""

import sys

from agents.mappo import Args, train

out = sys.argv[1]
common = dict(scenario="tiny", env={"encoder": "hash"}, num_envs=4, num_steps=10, total_steps=800, progress=False,
              eval_episodes=0, tensorboard=False)
full = train(Args(log_dir=f"{out}/full", **common))
train(Args(log_dir=f"{out}/part", stop_after_updates=4, **common))
resumed = train(Args(log_dir=f"{out}/part", resume=True, **common))
print(f"RESULT full={full['digest']} resumed={resumed['digest']}", flush=True)
