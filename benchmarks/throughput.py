"""Throughput and memory of the vectorized core, the PettingZoo env, the reference implementation,
the learners and the embedding cache.

Every figure is the median over repeats after warm-up, measured in a fresh subprocess so that its
peak memory (RSS on CPU, allocated memory on CUDA) is its own. Sections:

1. core (``make_vec``) over num_envs on one scenario: env-, user-, item- and agent-steps/s;
2. core over scale (people x items, one world, the ``hash`` encoder so that 100,000 item texts need
   no transformer pass; the step's cost does not depend on the encoder);
3. ``parallel_env`` (one world, dict API) against the B = 1 core step it wraps;
4. the reference implementation (a Python object per person, numpy per step, like RecSim) on the
   same scenario, in the same run: the ratio is the speed-up of vectorizing;
5. training SPS of IQL and MAPPO;
6. text encoding rate of MiniLM against loading the same embeddings from the disk cache.

Writes JSON and a log-log PNG of user-steps/s against num_envs.

    python -m benchmarks.throughput                       # full, CPU (~10 minutes)
    python -m benchmarks.throughput --quick               # fewer sizes, ~2 minutes
    python -m benchmarks.throughput --device cuda --num-envs 1 256 4096 16384
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import queue
import resource
import time
from pathlib import Path

import torch

from agents.args import LEARNERS
from benchmarks.common import hardware, median_time, write_json


def _peak_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _sync(device: str):
    return torch.cuda.synchronize if device.startswith("cuda") else None


def core_case(scenario: str, num_envs: int, device: str, repeats: int, config: dict, compile: bool = False) -> dict:
    import recsim_marl

    venv = recsim_marl.make_vec(num_envs=num_envs, device=device, scenario=scenario, validate=False,
                                compile=compile, **config)
    obs = venv.reset(seed=0)
    lay = venv.layouts["users"]
    acts = {  # greedy users, unpromoted items: a realistic action, built outside the timing
        "users": lay.read(obs["users"], "candidate_relevance").argmax(-1),
        "items": torch.zeros(num_envs, venv.num_agents["items"], dtype=torch.long, device=venv.device),
    }
    u, i = venv.num_agents["users"], venv.num_agents["items"]
    steps = max(1, min(20, 200_000 // (num_envs * u * max(1, i // 256))))

    def run():
        for _ in range(steps):
            venv.step(acts)

    per_step = median_time(run, repeats=repeats, warmup=1, sync=_sync(device)) / steps
    return {
        "scenario": scenario, "num_envs": num_envs, "users": u, "items": i, "step_ms": per_step * 1e3,
        "env_steps_per_s": num_envs / per_step, "user_steps_per_s": num_envs * u / per_step,
        "item_steps_per_s": num_envs * i / per_step, "agent_steps_per_s": num_envs * (u + i) / per_step,
        "peak_mb": _peak_mb(device), "compiled": venv.compiled,
    }


def parallel_case(scenario: str, repeats: int, config: dict) -> dict:
    import recsim_marl

    env = recsim_marl.parallel_env(scenario=scenario, **{**config, "max_cycles": 10**6, "initial_budget": 1e6})
    env.reset(seed=0)
    actions = {a: 0 for a in env.agents}
    steps = 100

    def run():
        for _ in range(steps):
            env.step(actions)

    per_step = median_time(run, repeats=repeats, warmup=1) / steps
    c = env.config
    return {"step_ms": per_step * 1e3, "user_steps_per_s": c.num_users / per_step,
            "agent_steps_per_s": (c.num_users + c.num_items) / per_step, "peak_mb": _peak_mb("cpu")}


def reference_case(scenario: str, repeats: int, config: dict) -> dict:
    import numpy as np

    import recsim_marl
    from recsim_marl.reference import ReferenceSim

    venv = recsim_marl.make_vec(num_envs=1, scenario=scenario, **{**config, "max_cycles": 10**6, "initial_budget": 1e6})
    ref = ReferenceSim.from_world(venv.config, venv.world, 0)
    c = venv.config
    ua, ia = np.zeros(c.num_users, np.int64), np.zeros(c.num_items, np.int64)
    steps = 20

    def run():
        for _ in range(steps):
            ref.step(ua, ia)

    per_step = median_time(run, repeats=repeats, warmup=1) / steps
    return {"step_ms": per_step * 1e3, "user_steps_per_s": c.num_users / per_step,
            "agent_steps_per_s": (c.num_users + c.num_items) / per_step, "peak_mb": _peak_mb("cpu")}


def training_case(algorithm: str, scenario: str, device: str) -> dict:
    import tempfile

    from agents import iql, mappo

    def args_for(total_steps: int, d: str):
        if algorithm == "mappo":
            return mappo.Args(scenario=scenario, total_steps=total_steps, log_dir=d, progress=False,
                              eval_episodes=0, tensorboard=False, device=device)
        return iql.Args(scenario=scenario, total_steps=total_steps, learning_starts=16 * 20, log_dir=d,
                        progress=False, eval_episodes=0, tensorboard=False, device=device)

    train = mappo.train if algorithm == "mappo" else iql.train
    steps = 32 * 25 * 3 if algorithm == "mappo" else 16 * 300
    with tempfile.TemporaryDirectory() as d:
        train(args_for(steps // 3, f"{d}/warmup"))  # warm-up: kernels compiled or loaded, allocator primed
        args = args_for(steps, f"{d}/timed")
        t = time.perf_counter()
        train(args)
        dt = time.perf_counter() - t
    import recsim_marl

    c = recsim_marl.make_config(scenario)
    return {"algorithm": algorithm, "env_steps_per_s": args.total_steps / dt,
            "user_steps_per_s": args.total_steps * c.num_users / dt, "seconds": dt, "peak_mb": _peak_mb(device)}


def encoding_case(num_texts: int) -> dict:
    import tempfile

    from recsim_marl.catalog import synthetic_catalog
    from recsim_marl.embeddings import encode_cached, load_encoder, resolve_encoder

    texts = synthetic_catalog(num_texts, 1, seed=123).item_texts
    spec = resolve_encoder("all-MiniLM-L6-v2")
    encoder = load_encoder(spec)  # model loading is not part of the encode rate
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        encode_cached(spec, texts, d, loader=lambda _spec: encoder)
        encode_s = time.perf_counter() - t
        load_s = median_time(lambda: encode_cached(spec, texts, d), repeats=5, warmup=1)
    return {"texts": num_texts, "encode_texts_per_s": num_texts / encode_s, "encode_s": encode_s,
            "cache_load_s": load_s, "speedup": encode_s / load_s}


def _child(fn_name, kwargs, queue):
    torch.set_num_threads(torch.get_num_threads())
    try:
        queue.put(globals()[fn_name](**kwargs))
    except Exception as exc:  # report, do not hang the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def isolated(fn_name: str, **kwargs) -> dict:
    """Run a case in a fresh process so its peak memory is its own."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn_name, kwargs, q))
    p.start()
    while True:  # a child that dies without reporting (killed for memory, a crash) must not hang the run
        try:
            out = q.get(timeout=5)
            break
        except queue.Empty:
            if not p.is_alive():
                out = {"error": f"the case's process died with exit code {p.exitcode}"}
                break
    p.join()
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="default")
    p.add_argument("--device", default="cpu")
    p.add_argument("--num-envs", type=int, nargs="*", default=[1, 16, 256, 1024, 4096])
    p.add_argument("--users", type=int, nargs="*", default=[64, 1024, 10_000])
    p.add_argument("--items", type=int, nargs="*", default=[256, 10_000, 100_000])
    p.add_argument("--quick", action="store_true", help="num_envs 1/16/256, scale 64-1024 x 256-10,000, 2 repeats")
    p.add_argument("--skip", nargs="*", default=[], choices=["scale", "parallel", "reference", "training", "encoding"])
    p.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE",
                   help="config overrides for every case, e.g. --env encoder=hash (the step does not depend on the encoder)")
    p.add_argument("--compile", action="store_true", help="make_vec(compile=True) in section 1 (torch.compile on CUDA)")
    p.add_argument("--out", default="benchmarks/results/throughput.json")
    args = p.parse_args(argv)
    from agents.cli import _parse_override

    env_cfg = dict(_parse_override(kv) for kv in args.env)
    if args.quick:
        args.num_envs, args.users, args.items = [1, 16, 256], [64, 1024], [256, 10_000]
    repeats = 2 if args.quick else 5
    dev = args.device
    print(f"hardware: {hardware()}\nscenario: {args.scenario}, device: {dev}\n")

    print("1. core over num_envs")
    print(f"{'num_envs':>9} {'step ms':>9} {'env-steps/s':>12} {'user-steps/s':>13} {'item-steps/s':>13} "
          f"{'agent-steps/s':>14} {'peak MB':>8}")
    rows = []
    for b in args.num_envs:
        r = isolated("core_case", scenario=args.scenario, num_envs=b, device=dev, repeats=repeats, config=env_cfg,
                     compile=args.compile)
        if "error" in r:  # e.g. out of memory at a large batch: report it and measure the rest
            print(f"{b:>9} failed: {r['error']}")
            continue
        rows.append(r)
        print(f"{b:>9} {r['step_ms']:>9.2f} {r['env_steps_per_s']:>12,.0f} {r['user_steps_per_s']:>13,.0f} "
              f"{r['item_steps_per_s']:>13,.0f} {r['agent_steps_per_s']:>14,.0f} {r['peak_mb']:>8,.0f}")
    if not rows:
        raise SystemExit("every core case failed; see above")
    best = max(rows, key=lambda r: r["user_steps_per_s"])

    scale = []
    if "scale" not in args.skip:
        print("\n2. core over scale (one world, hash encoder)")
        print(f"{'people':>7} {'items':>8} {'step ms':>10} {'user-steps/s':>13} {'peak MB':>8}")
        for u in args.users:
            for i in args.items:
                # one world: its pool is the world (catalog_pool=1), not 8 times it
                cfg = dict(env_cfg, num_users=u, num_items=i, encoder="hash", max_cycles=10**6, initial_budget=1e6,
                           catalog_pool=1)
                r = isolated("core_case", scenario=args.scenario, num_envs=1, device=dev, repeats=min(repeats, 3), config=cfg)
                if "error" in r:
                    print(f"{u:>7} {i:>8} failed: {r['error']}")
                    continue
                scale.append(r)
                print(f"{u:>7} {i:>8} {r['step_ms']:>10.1f} {r['user_steps_per_s']:>13,.0f} {r['peak_mb']:>8,.0f}")

    pz, pz_ratio = None, None
    if "parallel" not in args.skip:
        print("\n3. parallel_env against the B = 1 core step")
        pz = isolated("parallel_case", scenario=args.scenario, repeats=repeats, config=env_cfg)
        core1 = next((r for r in rows if r["num_envs"] == 1 and dev == "cpu"), None) or isolated(
            "core_case", scenario=args.scenario, num_envs=1, device="cpu", repeats=repeats, config=env_cfg)
        pz_ratio = pz["step_ms"] / core1["step_ms"]
        print(f"parallel_env {pz['step_ms']:.2f} ms/step ({pz['user_steps_per_s']:,.0f} user-steps/s), "
              f"core B=1 {core1['step_ms']:.2f} ms/step: parallel_env costs {pz_ratio:.2f}x")

    ref, speedup = None, None
    if "reference" not in args.skip:
        print("\n4. reference implementation (Python object per person, numpy per step)")
        ref = isolated("reference_case", scenario=args.scenario, repeats=repeats, config=env_cfg)
        speedup = best["user_steps_per_s"] / ref["user_steps_per_s"]
        print(f"reference {ref['step_ms']:.2f} ms/step = {ref['user_steps_per_s']:,.0f} user-steps/s; "
              f"core best {best['user_steps_per_s']:,.0f} at num_envs={best['num_envs']}: {speedup:.0f}x")

    training = []
    if "training" not in args.skip:
        print("\n5. training throughput (default learner settings)")
        for algo in LEARNERS:
            r = isolated("training_case", algorithm=algo, scenario=args.scenario, device=dev)
            training.append(r)
            print(f"{algo:>6}: {r['env_steps_per_s']:,.0f} env-steps/s = {r['user_steps_per_s']:,.0f} user-steps/s")

    enc = None
    if "encoding" not in args.skip:
        print("\n6. MiniLM encoding vs disk cache")
        enc = isolated("encoding_case", num_texts=256 if args.quick else 1024)
        print(f"encode {enc['texts']} texts: {enc['encode_texts_per_s']:,.0f} texts/s ({enc['encode_s']:.2f}s); "
              f"cache load {enc['cache_load_s'] * 1e3:.1f} ms: {enc['speedup']:,.0f}x faster")

    payload = {"hardware": hardware(), "scenario": args.scenario, "env": env_cfg, "compile": args.compile,
               "device": dev, "core": rows, "best_core": best,
               "scale": scale, "parallel_env": pz, "parallel_env_over_core_b1": pz_ratio, "reference": ref,
               "core_over_reference": speedup, "training": training, "encoding": enc}
    out = write_json(args.out, payload)
    print(f"\nwrote {out}\nwrote {plot(rows, ref, Path(out).with_suffix('.png'), dev)}")
    return payload


def plot(rows, ref, path: Path, device: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog([r["num_envs"] for r in rows], [r["user_steps_per_s"] for r in rows], "o-", label=f"core ({device})")
    if ref:
        ax.axhline(ref["user_steps_per_s"], linestyle="--", color="grey", label="reference (per-person numpy)")
    ax.set_xlabel("num_envs")
    ax.set_ylabel("user-steps / s")
    ax.set_title(f"throughput, {rows[0]['scenario']} scenario")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
