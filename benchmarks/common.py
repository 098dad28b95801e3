"""Shared helpers for the benchmark scripts: hardware string, timing, JSON output."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch


def hardware() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    s = f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if torch.cuda.is_available():
        s += f", GPU {torch.cuda.get_device_name(0)}"
    return s


def median_time(fn, repeats: int = 5, warmup: int = 2, sync=None) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def write_json(path: str | Path, payload: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2))
    return path


def paired_difference(a, b) -> dict:
    """Mean of ``a - b`` over paired runs (the same seeds) and its 95% Student-t confidence interval."""
    import numpy as np
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return {"mean": float(d.mean()), "ci": [float(d.mean()) - half, float(d.mean()) + half]}


def train_providers(scenario: str, overrides: dict, run: int, total_steps: int, log_dir: Path, quick: bool = False,
                    users: str = "greedy", reuse: bool = False):
    """MAPPO learning the item agents of ``scenario`` (with ``overrides``) against scripted ``users``
    (greedy or model-based), on the training split, run ``run`` on seeds ``run * num_envs ...`` (below
    the tuning seeds): the learned policy and what its training was. ``reuse``: a finished run of the
    same options in ``log_dir`` is loaded instead of trained again (resuming checks every option)."""
    from agents import mappo
    from agents.policy import LearnedPolicy
    from recsim_marl.protocol import TUNING_SEED

    extra = dict(num_envs=4, num_steps=10) if quick else {}
    num_envs = extra.get("num_envs", mappo.Args.num_envs)
    seed = run * num_envs
    assert seed + num_envs <= TUNING_SEED, "training worlds must stay below the tuning seeds"
    args = mappo.Args(scenario=scenario, env=dict(overrides), learn="items", users_policy=users,
                      total_steps=total_steps, seed=seed, eval_episodes=0, progress=False, tensorboard=False,
                      log_dir=str(log_dir), **extra)
    t = time.perf_counter()
    if reuse and (Path(log_dir) / "checkpoint.pt").exists():
        res = mappo.train(dataclasses.replace(args, resume=True))  # refuses a run of other options
        if res.get("finished_before"):
            return mappo.load_policy(Path(log_dir) / "checkpoint.pt", "items"), {
                "train_seconds": None, "train_seed": seed, "total_steps": total_steps, "reused": str(log_dir)}
    else:
        res = mappo.train(args)
    return LearnedPolicy(res["nets"]["items"]), {"train_seconds": round(time.perf_counter() - t, 1),
                                                 "train_seed": seed, "total_steps": res["global_step"]}
