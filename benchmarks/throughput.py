"""Throughput of the vectorized core (``make_vec``) and of the PettingZoo ``parallel_env``.

For each num_envs, the median over repeats of the wall time of one ``VecEnv.step`` (after warm-up),
reported as env-steps/s, user-steps/s (people simulated per second), item-steps/s and agent-steps/s
(users + items). ``parallel_env`` is timed on one world with a prebuilt action dict, and compared
with the B = 1 core step it wraps. Prints a table and writes JSON.

    python -m benchmarks.throughput                    # default scenario, CPU
    python -m benchmarks.throughput --quick            # fewer sizes and repeats
    python -m benchmarks.throughput --device cuda --num-envs 1 256 4096 16384
"""

from __future__ import annotations

import argparse

import torch

import recsim_marl
from benchmarks.common import hardware, median_time, write_json


def core_row(scenario: str, num_envs: int, device: str, steps: int, repeats: int, **config) -> dict:
    venv = recsim_marl.make_vec(num_envs=num_envs, device=device, scenario=scenario, validate=False, **config)
    obs = venv.reset(seed=0)
    lay = venv.layouts["users"]
    # greedy users and unpromoted items: actions of a realistic policy, built once outside the timing
    acts = {
        "users": lay.read(obs["users"], "candidate_relevance").argmax(-1),
        "items": torch.zeros(num_envs, venv.num_agents["items"], dtype=torch.long, device=venv.device),
    }
    sync = torch.cuda.synchronize if venv.device.type == "cuda" else None

    def run():
        for _ in range(steps):
            venv.step(acts)

    per_step = median_time(run, repeats=repeats, warmup=1, sync=sync) / steps
    u, i = venv.num_agents["users"], venv.num_agents["items"]
    return {
        "num_envs": num_envs, "users": u, "items": i, "step_ms": per_step * 1e3,
        "env_steps_per_s": num_envs / per_step,
        "user_steps_per_s": num_envs * u / per_step,
        "item_steps_per_s": num_envs * i / per_step,
        "agent_steps_per_s": num_envs * (u + i) / per_step,
    }


def parallel_env_row(scenario: str, steps: int, repeats: int) -> dict:
    env = recsim_marl.parallel_env(scenario=scenario, max_cycles=10**6, initial_budget=10.0**6)
    env.reset(seed=0)
    actions = {a: 0 for a in env.agents}

    def run():
        for _ in range(steps):
            env.step(actions)

    per_step = median_time(run, repeats=repeats, warmup=1) / steps
    c = env.config
    return {
        "step_ms": per_step * 1e3,
        "user_steps_per_s": c.num_users / per_step,
        "agent_steps_per_s": (c.num_users + c.num_items) / per_step,
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="default")
    p.add_argument("--device", default="cpu")
    p.add_argument("--num-envs", type=int, nargs="*", default=[1, 16, 256, 1024, 4096])
    p.add_argument("--quick", action="store_true", help="num_envs 1, 16, 256 and fewer repeats")
    p.add_argument("--out", default="benchmarks/results/throughput.json")
    args = p.parse_args(argv)
    sizes = [1, 16, 256] if args.quick else args.num_envs
    repeats = 3 if args.quick else 5

    print(f"hardware: {hardware()}\nscenario: {args.scenario}, device: {args.device}\n")
    print(f"{'num_envs':>9} {'step ms':>9} {'env-steps/s':>13} {'user-steps/s':>14} {'item-steps/s':>14} {'agent-steps/s':>15}")
    rows = []
    for b in sizes:
        steps = max(2, min(50, 2000 // b))
        r = core_row(args.scenario, b, args.device, steps, repeats)
        rows.append(r)
        print(f"{b:>9} {r['step_ms']:>9.2f} {r['env_steps_per_s']:>13,.0f} {r['user_steps_per_s']:>14,.0f} "
              f"{r['item_steps_per_s']:>14,.0f} {r['agent_steps_per_s']:>15,.0f}")
    best = max(rows, key=lambda r: r["user_steps_per_s"])
    pz = parallel_env_row(args.scenario, steps=50, repeats=repeats)
    core1 = next((r for r in rows if r["num_envs"] == 1), None) or core_row(args.scenario, 1, "cpu", 50, repeats)
    ratio = pz["step_ms"] / core1["step_ms"]
    print(f"\nbest core: {best['user_steps_per_s']:,.0f} user-steps/s at num_envs={best['num_envs']}")
    print(f"parallel_env (1 world, dict API): {pz['step_ms']:.2f} ms/step, {pz['user_steps_per_s']:,.0f} user-steps/s, "
          f"{pz['agent_steps_per_s']:,.0f} agent-steps/s; {ratio:.2f}x the B=1 core step")
    payload = {
        "hardware": hardware(), "scenario": args.scenario, "device": args.device,
        "core": rows, "best_core": best, "parallel_env": pz, "parallel_env_over_core_b1": ratio,
    }
    print(f"wrote {write_json(args.out, payload)}")
    return payload


if __name__ == "__main__":
    main()
