"""Correctness of the CUDA code path, on a machine with an NVIDIA GPU (part of ``gpu_check.sh``).

Checks, and prints a line per check:

1. CUDA against CPU: the same seeds and the same actions on ``cuda`` and ``cpu`` for every synthetic
   scenario; how many steps the two trajectories stay identical (candidate lists, clicks, promotion
   levels, finished envs) and the largest reward difference while they do. CUDA runs the torch
   retrieval and observations, the CPU the compiled kernels, and the devices' float32 rounding
   differs (summation order, fused multiply-add, transcendental functions), so a near-tie can flip
   one decision and the trajectories part; before they part, rewards agree to float rounding.
2. No host synchronisation in ``step`` on CUDA (``torch.cuda.set_sync_debug_mode("error")``), across
   auto-resets.
3. ``compile=True`` (``torch.compile`` of the whole step) against the eager CUDA step.
4. Short IQL and MAPPO runs on CUDA with a checkpoint, a resume and an evaluation.

Exits non-zero if a check fails. Writes ``OUT/gpu_smoke.json``.

    python -m benchmarks.gpu_smoke OUT_DIR [--env encoder=hash]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

import recsim_marl

SCENARIOS = ("tiny", "default", "boredom", "marketplace")
GPU = "cuda"  # --device cpu runs every check on the CPU against itself (a dry run of this script)


def _sync():
    if GPU == "cuda":
        torch.cuda.synchronize()


def random_actions(venv, gen: torch.Generator) -> dict:
    """Actions in range for every agent (drawn on the CPU, so both devices get the same ones)."""
    b = venv.num_envs
    return {g: torch.randint(0, venv.num_actions[g], (b, venv.num_agents[g]), generator=gen) for g in ("users", "items")}


def cuda_vs_cpu(scenario: str, env_cfg: dict, num_envs: int = 8, steps: int = 60) -> dict:
    envs = {d: recsim_marl.make_vec(num_envs, device=d, scenario=scenario, validate=False, **env_cfg)
            for d in ("cpu", GPU)}
    for v in envs.values():
        v.reset(seed=123)
    gen = torch.Generator().manual_seed(0)
    same_steps, max_reward_diff = 0, 0.0
    for _ in range(steps):
        acts = random_actions(envs["cpu"], gen)
        cand = {d: v.current.candidates.cpu() for d, v in envs.items()}
        if not torch.equal(cand["cpu"], cand[GPU]):
            break
        out = {d: v.step({g: a.to(v.device) for g, a in acts.items()}) for d, v in envs.items()}
        (_, r_cpu, _, _, i_cpu), (_, r_gpu, _, _, i_gpu) = out["cpu"], out[GPU]
        if not all(torch.equal(i_cpu[k], i_gpu[k].cpu()) for k in ("clicked", "done", "levels")):
            break
        for g in ("users", "items"):
            max_reward_diff = max(max_reward_diff, (r_cpu[g] - r_gpu[g].cpu()).abs().max().item())
        same_steps += 1
    return {"scenario": scenario, "steps_identical": same_steps, "of": steps, "max_reward_diff": max_reward_diff}


def no_host_sync(scenario: str, env_cfg: dict, steps: int = 60) -> dict:
    venv = recsim_marl.make_vec(16, device=GPU, scenario=scenario, validate=False, **env_cfg)
    obs = venv.reset(seed=0)
    gen = torch.Generator(device=GPU).manual_seed(0)
    lay = venv.layouts["users"]
    resets = torch.zeros((), device=GPU)
    _sync()
    if GPU == "cuda":
        torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(steps):
            acts = {"users": lay.read(obs["users"], "candidate_relevance").argmax(-1),
                    "items": torch.randint(0, venv.num_actions["items"], (16, venv.num_agents["items"]),
                                           device=GPU, generator=gen)}
            obs, _, _, _, info = venv.step(acts)
            resets += info["done"].sum()
    finally:
        if GPU == "cuda":
            torch.cuda.set_sync_debug_mode("default")
    return {"scenario": scenario, "steps": steps, "auto_resets": int(resets.item())}


def compiled_vs_eager(scenario: str, env_cfg: dict, num_envs: int = 1024, steps: int = 40) -> dict:
    envs = {c: recsim_marl.make_vec(num_envs, device=GPU, scenario=scenario, validate=False, compile=c, **env_cfg)
            for c in (False, True)}
    assert envs[True].compiled == (GPU == "cuda")
    for v in envs.values():
        v.reset(seed=7)
    gen = torch.Generator().manual_seed(1)
    t0 = time.perf_counter()
    first = None
    same_steps, max_diff = 0, 0.0
    for _ in range(steps):
        acts = {g: a.to(GPU) for g, a in random_actions(envs[False], gen).items()}
        o_e, r_e, _, _, _ = envs[False].step(acts)
        o_c, r_c, _, _, _ = envs[True].step(acts)
        if first is None:
            _sync()
            first = time.perf_counter() - t0  # includes compilation
        if not torch.equal(envs[False].current.candidates, envs[True].current.candidates):
            break
        max_diff = max(max_diff, (r_e["users"] - r_c["users"]).abs().max().item(),
                       (o_e["users"] - o_c["users"]).abs().max().item())
        same_steps += 1
    timing = {}
    for c, v in envs.items():  # steady-state step time of each
        a = {g: torch.zeros(num_envs, v.num_agents[g], dtype=torch.long, device=GPU) for g in ("users", "items")}
        for _ in range(5):
            v.step(a)
        _sync()
        t = time.perf_counter()
        for _ in range(20):
            v.step(a)
        _sync()
        timing["compiled_ms" if c else "eager_ms"] = (time.perf_counter() - t) / 20 * 1e3
    return {"scenario": scenario, "num_envs": num_envs, "steps_identical": same_steps, "of": steps,
            "max_diff": max_diff, "first_step_s": first, **timing}


def learners(env_cfg: dict) -> dict:
    from agents import iql, mappo

    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, mod, extra in (("mappo", mappo, {"num_steps": 10}), ("iql", iql, {"learning_starts": 40})):
            common = dict(scenario="tiny", env=dict(env_cfg), device=GPU, num_envs=8, total_steps=8 * 10 * 6,
                          progress=False, tensorboard=False, eval_episodes=2, **extra)
            full = mod.train(mod.Args(log_dir=f"{d}/{name}_full", **common))
            if name == "mappo":
                mod.train(mod.Args(log_dir=f"{d}/{name}_part", stop_after_updates=3, **common))
                resumed = mod.train(mod.Args(log_dir=f"{d}/{name}_part", resume=True, **common))
                same = resumed["eval"]["user_return"] == full["eval"]["user_return"]
            else:
                same = None
            out[name] = {"eval_user_return": full["eval"]["user_return"], "resume_equals_uninterrupted": same}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--device", default="cuda", help="'cpu' dry-runs the checks on the CPU against itself")
    args = p.parse_args(argv)
    global GPU
    GPU = args.device
    from agents.cli import _parse_override

    env_cfg = dict(_parse_override(kv) for kv in args.env)
    if GPU == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 1
    name = torch.cuda.get_device_name(0) if GPU == "cuda" else "cpu (dry run)"
    results, failed = {"device": name, "torch": torch.__version__, "env": env_cfg}, []

    def check(name, fn, ok):
        t = time.perf_counter()
        try:
            r = fn()
            good = ok(r)
        except Exception:
            r, good = {"error": traceback.format_exc(limit=6)}, False
        r["seconds"] = round(time.perf_counter() - t, 2)
        results[name] = r
        print(f"[{'ok' if good else 'FAIL'}] {name}: {r}", flush=True)
        if not good:
            failed.append(name)

    for sc in SCENARIOS:
        # identical for most steps; a parted trajectory is reported, a crash or a NaN fails
        check(f"cuda_vs_cpu/{sc}", lambda sc=sc: cuda_vs_cpu(sc, env_cfg),
              lambda r: r["steps_identical"] >= 1 and r["max_reward_diff"] < 1e-4)
    check("no_host_sync/tiny", lambda: no_host_sync("tiny", env_cfg), lambda r: r["auto_resets"] > 0)
    check("no_host_sync/default", lambda: no_host_sync("default", env_cfg), lambda r: True)
    check("compile/default", lambda: compiled_vs_eager("default", env_cfg), lambda r: r["steps_identical"] >= 1)
    check("learners/tiny", lambda: learners(env_cfg), lambda r: r["mappo"]["resume_equals_uninterrupted"])
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "gpu_smoke.json").write_text(json.dumps(results, indent=2, default=str))
    print("failed:" if failed else "all checks passed", *failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
