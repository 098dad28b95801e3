"""Run by tests/test_distributed.py under torchrun: on each rank, MAPPO and IQL each trained to the end,
then the same run stopped early and resumed; prints each result's parameter digest."""

import sys

from agents import iql, mappo

out = sys.argv[1]
common = dict(scenario="tiny", env={"encoder": "hash"}, num_envs=4, progress=False, eval_episodes=0, tensorboard=False)
runs = {
    "mappo": (mappo, dict(num_steps=10, total_steps=800), dict(stop_after_updates=4)),
    "iql": (iql, dict(total_steps=400, learning_starts=80, batch_size=32, buffer_size=2000, target_every=5,
                      checkpoint_every=10), dict(stop_after_steps=20)),
}
for name, (module, own, stop) in runs.items():
    full = module.train(module.Args(log_dir=f"{out}/{name}/full", **common, **own))
    module.train(module.Args(log_dir=f"{out}/{name}/part", **common, **own, **stop))
    resumed = module.train(module.Args(log_dir=f"{out}/{name}/part", resume=True, **common, **own))
    print(f"RESULT {name} full={full['digest']} resumed={resumed['digest']}", flush=True)
