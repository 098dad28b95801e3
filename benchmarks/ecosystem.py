"""Throughput of the doors to other frameworks, measured in one run (issue 9):

1. TorchRL collection, random actions: ``RecSimEnv`` (the batched core, ``num_envs`` worlds at once)
   against torchrl's ``PettingZooWrapper`` over ``recsim_marl.parallel_env`` (the dict API, one world);
2. BenchMARL MAPPO's collection through ``RecSimTask`` (its collector and policy, both groups; the
   training between batches is BenchMARL's and not counted);
3. sharing the machine: the core's step rate of one process alone, then of two processes stepping at
   once (each with the default thread settings), as a ratio per process.

User agent-steps per second (people x steps). In the dict path nobody leaves (a huge budget), because
torchrl's PettingZoo wrapper cannot yet step past people who left (issue 9, item 5). Prints a table,
writes JSON.

    python -m benchmarks.ecosystem --out benchmarks/results/ecosystem.json
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from benchmarks.common import hardware, write_json


def recsimenv_rate(scenario: str, num_envs: int, steps: int) -> dict:
    from recsim_marl.integrations.torchrl import RecSimEnv

    env = RecSimEnv(scenario=scenario, num_envs=num_envs, seed=0)
    env.rollout(3, break_when_any_done=False)  # warm-up
    t = time.perf_counter()
    env.rollout(steps, break_when_any_done=False)
    dt = time.perf_counter() - t
    return {"path": f"RecSimEnv x{num_envs}", "seconds": dt,
            "user_steps_per_s": steps * num_envs * env.config.num_users / dt}


def dict_path_rate(scenario: str, steps: int) -> dict:
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    import recsim_marl

    pz = recsim_marl.parallel_env(scenario=scenario, initial_budget=1e6, max_cycles=10**6)
    env = PettingZooWrapper(pz, use_mask=True, categorical_actions=True, seed=0)
    env.rollout(3, break_when_any_done=False)
    t = time.perf_counter()
    env.rollout(steps, break_when_any_done=False)
    dt = time.perf_counter() - t
    return {"path": "PettingZooWrapper (dict API)", "seconds": dt,
            "user_steps_per_s": steps * pz.config.num_users / dt}


def benchmarl_rate(task_name: str, batches: int, frames_per_batch: int, num_envs: int) -> dict:
    from benchmarl.algorithms import MappoConfig
    from benchmarl.experiment import Experiment, ExperimentConfig
    from benchmarl.models.mlp import MlpConfig

    import recsim_marl
    from recsim_marl.integrations.benchmarl import RecSimTask, scenario_of

    cfg = ExperimentConfig.get_from_yaml()
    cfg.sampling_device = cfg.train_device = "cpu"
    cfg.max_n_frames = frames_per_batch * (batches + 1)
    cfg.on_policy_collected_frames_per_batch = frames_per_batch
    cfg.on_policy_n_envs_per_worker = num_envs
    cfg.evaluation = False
    cfg.loggers = []
    cfg.create_json = False
    cfg.checkpoint_interval = 0
    cfg.save_folder = tempfile.mkdtemp()
    task = RecSimTask[task_name].get_task()
    exp = Experiment(task=task, algorithm_config=MappoConfig.get_from_yaml(), model_config=MlpConfig.get_from_yaml(),
                     critic_model_config=MlpConfig.get_from_yaml(), seed=0, config=cfg)
    it = iter(exp.collector)
    next(it)  # warm-up batch
    t = time.perf_counter()
    frames = sum(next(it).numel() for _ in range(batches))
    dt = time.perf_counter() - t
    users = recsim_marl.make_config(scenario_of(task_name)).num_users
    return {"path": f"BenchMARL MAPPO collector via RecSimTask x{num_envs}", "seconds": dt, "frames": frames,
            "user_steps_per_s": frames * users / dt}


def _stepping(num_envs: int, seconds: float, threads: int | None, queue) -> None:
    import recsim_marl

    if threads is not None:  # this benchmark's own process: pinning it is what the README advises
        torch.set_num_threads(threads)
    v = recsim_marl.make_vec(num_envs, scenario="default", validate=False, encoder="hash")
    v.reset(seed=0)
    a = {g: torch.zeros(num_envs, v.num_agents[g], dtype=torch.long) for g in ("users", "items")}
    for _ in range(5):
        v.step(a)
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
        v.step(a)
        n += 1
    queue.put(n * num_envs / (time.perf_counter() - t))


def concurrency(num_envs: int, threads: int | None = None, seconds: float = 8.0) -> dict:
    """Env-steps/s of one process alone, then of each of two processes stepping at the same time
    (``threads``: torch threads per process; None leaves torch's default)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    rates = {}
    for n in (1, 2):
        q = ctx.Queue()
        procs = [ctx.Process(target=_stepping, args=(num_envs, seconds, threads, q)) for _ in range(n)]
        for p in procs:
            p.start()
        rates[n] = [q.get() for _ in procs]
        for p in procs:
            p.join()
    return {"num_envs": num_envs, "threads": threads or torch.get_num_threads(), "alone": rates[1][0], "two_at_once": rates[2],
            "ratio_each": [r / rates[1][0] for r in rates[2]]}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="default")
    p.add_argument("--num-envs", type=int, default=256)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--out", default="benchmarks/results/ecosystem.json")
    args = p.parse_args(argv)
    print(f"hardware: {hardware()}\nscenario: {args.scenario}\n")
    rows = [recsimenv_rate(args.scenario, args.num_envs, args.steps), dict_path_rate(args.scenario, args.steps)]
    rows.append(benchmarl_rate(args.scenario.upper().replace("-", "_"), batches=4, frames_per_batch=25 * args.num_envs,
                               num_envs=args.num_envs))
    print("| path | seconds | user agent-steps/s |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['path']} | {r['seconds']:.1f} | {r['user_steps_per_s']:,.0f} |")
    ratio = rows[0]["user_steps_per_s"] / rows[1]["user_steps_per_s"]
    print(f"\nRecSimEnv collects {ratio:,.0f}x faster than the dict path")
    shared = [concurrency(b, t) for t in (None, 1) for b in (1, 256)]
    print("\n| worlds per process | torch threads each | alone env-steps/s | two at once, each | ratio each |")
    print("|---|---|---|---|---|")
    for c in shared:
        print(f"| {c['num_envs']} | {c['threads']} | {c['alone']:,.0f} | "
              f"{', '.join(f'{r:,.0f}' for r in c['two_at_once'])} | "
              f"{', '.join(f'{r:.2f}' for r in c['ratio_each'])} |")
    payload = {"hardware": hardware(), "torch_threads": torch.get_num_threads(), "scenario": args.scenario,
               "rows": rows, "recsimenv_over_dict_path": ratio, "concurrency": shared}
    print(f"wrote {write_json(args.out, payload)}")
    return payload


if __name__ == "__main__":
    main()
