"""Throughput of the doors to other frameworks, measured in one run (issue 9):

1. TorchRL collection, random actions: ``RecSimEnv`` (the batched core, ``num_envs`` worlds at once)
   against torchrl's ``PettingZooWrapper`` over ``recsim_marl.parallel_env`` (the dict API, one world);
2. BenchMARL MAPPO's collection through ``RecSimTask`` (its collector and policy, both groups; the
   training between batches is BenchMARL's and not counted);
3. sharing the machine: the core's step rate of one process alone, then of two processes stepping at
   once, as a ratio per process: with torch's default threads (and, side by side, the core as it was
   before it ran small steps on one thread), with those and ``OMP_WAIT_POLICY=PASSIVE`` (OpenMP
   threads sleep instead of spinning while they wait), and with one thread per process;
4. learning at equal frames: the built-in MAPPO against BenchMARL's MAPPO (each with its own default
   hyper-parameters, both groups learning, the same worlds per batch), both evaluated the same way
   (``agents.policy.evaluate`` on held-out seeds 10,000+), with their wall times;
5. the built-in MAPPO on one rank against two ``torchrun`` ranks (one torch thread each) at equal
   total frames: wall time and frames per second;
6. RLlib's env runner (``MultiAgentEnvRunner``, PPO's default module, the users learning) sampling
   ``RecSimMultiAgentEnv`` with one world per env (as before ``num_worlds``) and with several.

User agent-steps per second (people x steps). In the dict path nobody leaves (a huge budget), because
torchrl's PettingZoo wrapper cannot yet step past people who left (issue 9, item 5). Prints a table,
writes JSON.

    python -m benchmarks.ecosystem --out benchmarks/results/ecosystem.json
    python -m benchmarks.ecosystem --only learning ranks   # parts: doors, sharing, learning, ranks, rllib
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import hardware, write_json
from recsim_marl.protocol import EVAL_SEED


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


def benchmarl_mappo(task_name: str, max_frames: int, frames_per_batch: int, num_envs: int):
    """A BenchMARL MAPPO experiment on ``RecSimTask[task_name]`` with its default hyper-parameters, on the
    CPU, without evaluation, loggers or checkpoints (the two measurements below differ only in size)."""
    from benchmarl.algorithms import MappoConfig
    from benchmarl.experiment import Experiment, ExperimentConfig
    from benchmarl.models.mlp import MlpConfig

    from recsim_marl.integrations.benchmarl import RecSimTask

    cfg = ExperimentConfig.get_from_yaml()
    cfg.sampling_device = cfg.train_device = "cpu"
    cfg.max_n_frames = max_frames
    cfg.on_policy_collected_frames_per_batch = frames_per_batch
    cfg.on_policy_n_envs_per_worker = num_envs
    cfg.evaluation = False
    cfg.loggers = []
    cfg.create_json = False
    cfg.checkpoint_interval = 0
    cfg.save_folder = tempfile.mkdtemp()
    return Experiment(task=RecSimTask[task_name].get_task(), algorithm_config=MappoConfig.get_from_yaml(),
                      model_config=MlpConfig.get_from_yaml(), critic_model_config=MlpConfig.get_from_yaml(),
                      seed=0, config=cfg)


def benchmarl_rate(task_name: str, batches: int, frames_per_batch: int, num_envs: int) -> dict:
    import recsim_marl
    from recsim_marl.integrations.benchmarl import scenario_of

    exp = benchmarl_mappo(task_name, frames_per_batch * (batches + 1), frames_per_batch, num_envs)
    it = iter(exp.collector)
    next(it)  # warm-up batch
    t = time.perf_counter()
    frames = sum(next(it).numel() for _ in range(batches))
    dt = time.perf_counter() - t
    users = recsim_marl.make_config(scenario_of(task_name)).num_users
    return {"path": f"BenchMARL MAPPO collector via RecSimTask x{num_envs}", "seconds": dt, "frames": frames,
            "user_steps_per_s": frames * users / dt}


def _stepping(num_envs: int, seconds: float, threads: int | None, queue, serial_small: bool = True) -> None:
    import recsim_marl
    from recsim_marl.models import _kernels

    if threads is not None:  # this benchmark's own process: pinning it is what the README advises
        torch.set_num_threads(threads)
    if not serial_small:  # the core as it was: every step on the user's threads, however small
        _kernels.SERIAL_STEP_WORK = 0
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


def concurrency(num_envs: int, threads: int | None = None, wait_policy: str | None = None,
                seconds: float = 8.0, serial_small: bool = True) -> dict:
    """Env-steps/s of one process alone, then of each of two processes stepping at the same time
    (``threads``: torch threads per process, None leaves torch's default; ``wait_policy``: the
    processes' ``OMP_WAIT_POLICY``, None leaves this process's environment as it is; ``serial_small``
    False: the core without its one-thread small steps, as before issue 18)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    rates = {}
    saved = os.environ.get("OMP_WAIT_POLICY")
    if wait_policy is not None:  # read by OpenMP when a spawned process loads torch
        os.environ["OMP_WAIT_POLICY"] = wait_policy
    try:
        for n in (1, 2):
            q = ctx.Queue()
            procs = [ctx.Process(target=_stepping, args=(num_envs, seconds, threads, q, serial_small))
                     for _ in range(n)]
            for p in procs:
                p.start()
            rates[n] = [q.get() for _ in procs]
            for p in procs:
                p.join()
    finally:
        if saved is None:
            os.environ.pop("OMP_WAIT_POLICY", None)
        else:
            os.environ["OMP_WAIT_POLICY"] = saved
    return {"num_envs": num_envs, "threads": threads or torch.get_num_threads(), "serial_small_steps": serial_small,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default") if wait_policy is None else wait_policy,
            "alone": rates[1][0], "two_at_once": rates[2], "ratio_each": [r / rates[1][0] for r in rates[2]]}


class BenchmarlGroupPolicy:
    """One group of a trained BenchMARL experiment as an ``agents.policy`` Policy (deterministic actions),
    so that ``evaluate`` scores it exactly as it scores the built-in learners."""

    def __init__(self, experiment, group: str):
        self.policy, self.group = experiment.group_policies[group], group

    @torch.no_grad()
    def act(self, obs, mask):
        from tensordict import TensorDict
        from torchrl.envs.utils import ExplorationType, set_exploration_type

        td = TensorDict({(self.group, "observation"): obs, (self.group, "action_mask"): mask}, batch_size=obs.shape[:1])
        with set_exploration_type(ExplorationType.DETERMINISTIC):
            return self.policy(td)[(self.group, "action")].long()


def learning_at_equal_frames(scenario: str, frames: int, num_envs: int, episodes: int = 10) -> list[dict]:
    """Built-in MAPPO and BenchMARL MAPPO, both groups learning, ``frames`` env steps each."""
    import recsim_marl
    from agents import mappo
    from agents.evaluation import evaluate

    config = recsim_marl.make_config(scenario)
    ev = dict(episodes=episodes, seed=EVAL_SEED, ranking_metrics=False)
    rows = []
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        mappo.train(mappo.Args(scenario=scenario, learn="both", total_steps=frames, num_envs=num_envs,
                               num_steps=config.max_cycles, log_dir=tmp, progress=False, tensorboard=False,
                               eval_episodes=0))
        dt = time.perf_counter() - t
        pols = {g: mappo.load_policy(Path(tmp) / "checkpoint.pt", g) for g in ("users", "items")}
    r = evaluate(config, pols, **ev)
    rows.append({"learner": "built-in MAPPO", "frames": frames, "seconds": dt, "user_return": r["user_return"],
                 "provider_profit": r["provider_profit"]})

    exp = benchmarl_mappo(scenario.upper().replace("-", "_"), frames, num_envs * config.max_cycles, num_envs)
    t = time.perf_counter()
    exp.run()
    dt = time.perf_counter() - t
    r = evaluate(config, {g: BenchmarlGroupPolicy(exp, g) for g in ("users", "items")}, **ev)
    rows.append({"learner": "BenchMARL MAPPO", "frames": exp.total_frames, "seconds": dt,
                 "user_return": r["user_return"], "provider_profit": r["provider_profit"]})
    return rows


def ranks(scenario: str, frames: int, num_envs: int) -> list[dict]:
    """Built-in MAPPO, ``frames`` env steps in all, on one process and on two torchrun ranks."""
    root = Path(__file__).resolve().parent.parent
    rows = []
    for n in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "PYTHONPATH": str(root)}
            if n > 1:
                env["OMP_NUM_THREADS"] = "1"  # each rank its share of the cores (README, Known limits)
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n),
                   "-m", "agents.mappo", "--scenario", scenario, "--total-steps", str(frames), "--num-envs",
                   str(num_envs), "--log-dir", tmp, "--no-progress", "--no-tensorboard", "--eval-episodes", "0"]
            t = time.perf_counter()
            out = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=True)
            dt = time.perf_counter() - t
            digests = set(re.findall(r"parameters digest ([0-9a-f]+)", out.stdout))
        rows.append({"ranks": n, "frames": frames, "seconds": dt, "frames_per_s": frames / dt,
                     "one_set_of_networks": len(digests) <= 1})
    return rows


def rllib_rate(scenario: str, num_worlds: int, agent_steps: int) -> dict:
    """User agent-steps per second of one RLlib env runner sampling ``RecSimMultiAgentEnv`` with
    ``num_worlds`` worlds per env (the users learning with PPO's default module, the items scripted)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    from recsim_marl.integrations.rllib import RecSimMultiAgentEnv, policy_mapping_fn

    config = (PPOConfig()
              .environment(RecSimMultiAgentEnv, env_config={"scenario": scenario, "learn": "users",
                                                            "num_worlds": num_worlds})
              .multi_agent(policies={"users"}, policy_mapping_fn=policy_mapping_fn)
              .env_runners(num_env_runners=0)
              .debugging(seed=0))
    import recsim_marl

    runner = MultiAgentEnvRunner(config=config)
    per_step = num_worlds * recsim_marl.make_config(scenario).num_users  # user agents per env step
    runner.sample(num_timesteps=2)  # warm-up
    t = time.perf_counter()
    episodes = runner.sample(num_timesteps=max(agent_steps // per_step, 1))
    dt = time.perf_counter() - t
    steps = sum(e.agent_steps() for e in episodes)
    runner.stop()
    return {"path": f"RLlib env runner, {num_worlds} world(s) per env", "num_worlds": num_worlds, "seconds": dt,
            "user_agent_steps": steps, "user_steps_per_s": steps / dt}


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """A markdown table (what the README shows)."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="default")
    p.add_argument("--num-envs", type=int, default=256)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--learning-scenario", default="tiny")
    p.add_argument("--learning-frames", type=int, default=48_000)
    p.add_argument("--only", nargs="*", default=["doors", "sharing", "learning", "ranks"],
                   choices=["doors", "sharing", "learning", "ranks", "rllib"])
    p.add_argument("--rllib-agent-steps", type=int, default=20_000, help="user agent-steps sampled per setting")
    p.add_argument("--out", default="benchmarks/results/ecosystem.json")
    args = p.parse_args(argv)
    print(f"hardware: {hardware()}\nscenario: {args.scenario}\n")
    payload = {"hardware": hardware(), "torch_threads": torch.get_num_threads(), "scenario": args.scenario}
    if "doors" in args.only:
        rows = [recsimenv_rate(args.scenario, args.num_envs, args.steps), dict_path_rate(args.scenario, args.steps)]
        rows.append(benchmarl_rate(args.scenario.upper().replace("-", "_"), batches=4,
                                   frames_per_batch=25 * args.num_envs, num_envs=args.num_envs))
        print_table(["path", "seconds", "user agent-steps/s"],
                    [[r["path"], f"{r['seconds']:.1f}", f"{r['user_steps_per_s']:,.0f}"] for r in rows])
        ratio = rows[0]["user_steps_per_s"] / rows[1]["user_steps_per_s"]
        print(f"\nRecSimEnv collects {ratio:,.0f}x faster than the dict path")
        payload.update(rows=rows, recsimenv_over_dict_path=ratio)
    if "sharing" in args.only:
        shared = [concurrency(b, t, w, serial_small=s) for t, w, s in
                  ((None, None, True), (None, None, False), (None, "PASSIVE", True), (1, None, True)) for b in (1, 256)]
        print()
        print_table(["worlds per process", "torch threads each", "OMP_WAIT_POLICY", "small steps on one thread",
                     "alone env-steps/s", "two at once, each", "ratio each"],
                    [[str(c["num_envs"]), str(c["threads"]), c["omp_wait_policy"],
                      "yes" if c["serial_small_steps"] else "no (before)", f"{c['alone']:,.0f}",
                      ", ".join(f"{r:,.0f}" for r in c["two_at_once"]), ", ".join(f"{r:.2f}" for r in c["ratio_each"])]
                     for c in shared])
        payload["concurrency"] = shared
    if "learning" in args.only:
        learned = learning_at_equal_frames(args.learning_scenario, args.learning_frames, num_envs=32)
        print(f"\nlearning on {args.learning_scenario}, both groups, evaluated on seeds {EVAL_SEED}-{EVAL_SEED + 9}")
        print_table(["learner", "frames", "seconds", "user return", "provider profit"],
                    [[r["learner"], f"{r['frames']:,}", f"{r['seconds']:.0f}",
                      "{:.2f} ± {:.2f}".format(*r["user_return"]), "{:.2f} ± {:.2f}".format(*r["provider_profit"])]
                     for r in learned])
        payload["learning"] = learned
    if "ranks" in args.only:
        ranked = ranks(args.learning_scenario, args.learning_frames, num_envs=32)
        print(f"\nbuilt-in MAPPO on {args.learning_scenario}, {args.learning_frames:,} frames in all")
        print_table(["torchrun ranks", "seconds", "frames/s", "one set of networks"],
                    [[str(r["ranks"]), f"{r['seconds']:.0f}", f"{r['frames_per_s']:,.0f}", str(r["one_set_of_networks"])]
                     for r in ranked])
        payload["ranks"] = ranked
    if "rllib" in args.only:
        rows = [rllib_rate(args.scenario, w, args.rllib_agent_steps) for w in (1, 16)]
        print()
        print_table(["path", "seconds", "user agent-steps", "user agent-steps/s"],
                    [[r["path"], f"{r['seconds']:.1f}", f"{r['user_agent_steps']:,}", f"{r['user_steps_per_s']:,.0f}"]
                     for r in rows])
        payload["rllib"] = {"rows": rows, "several_over_one": rows[1]["user_steps_per_s"] / rows[0]["user_steps_per_s"]}
        print(f"\n{rows[1]['num_worlds']} worlds per env sample {payload['rllib']['several_over_one']:.2f}x as fast "
              "as one world per env")
    print(f"wrote {write_json(args.out, payload)}")
    return payload


if __name__ == "__main__":
    main()
