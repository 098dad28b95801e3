"""Position effects in slates against real 3-slot logs: the Open Bandit Dataset sample (issue 20).

The data: the Open Bandit Dataset's sample that ships inside the ``obp`` package
(``pip install --no-deps obp==0.4.1``; read from the installed package, never copied here): ZOZOTOWN
fashion recommendations, three slots of a horizontal widget (positions 1-3, left to right), 10,000
sampled impressions per campaign file, clicks and the logging policy's propensities. Only the
uniform-random logging policy (``random/``) places items independently of the position, so only its
click-through rate by position measures the position's own effect; the three campaign files (all, men,
women) are pooled, and each rate has its 95% Wilson interval, each ratio to position 1 its 95% interval
by the delta method on the log ratio. Data: Saito, Aihara, Matsutani and Narita, "Open Bandit Dataset
and Pipeline: Towards Realistic and Reproducible Off-Policy Evaluation", NeurIPS 2021 Datasets and
Benchmarks (arXiv 2008.07146); released by ZOZO, Inc. under CC BY 4.0; obp's code is Apache-2.0.

The simulation, a documented setting rather than a tuned one: ``default`` worlds with ``slate_size`` 3
and each choice model at its default ``position_bias`` (0.85), users who show uniformly random slates
of their candidates (the random logging policy's counterpart), items that never promote; ``--episodes``
training-split worlds from seed 1,000. Its click-through rate by slot and the ratios to slot 1, with
the same intervals.

    python -m benchmarks.calibration_obd --out benchmarks/results/calibration_obd.json
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
from pathlib import Path

import numpy as np
import torch

import recsim_marl
from agents.baselines import RandomPolicy
from benchmarks.common import hardware, write_json
from recsim_marl.config import CHOICE_MODELS
from recsim_marl.protocol import TUNING_SEED

CAMPAIGNS = ("all", "men", "women")
Z = 1.959964


def obd_dir() -> Path:
    """The sample's folder inside the installed ``obp`` package (found without importing obp, whose own
    dependencies are not needed to read it)."""
    spec = importlib.util.find_spec("obp")
    if spec is None or spec.origin is None:
        raise SystemExit("the Open Bandit Dataset sample ships in the obp package: pip install --no-deps obp==0.4.1")
    return Path(spec.origin).parent / "dataset" / "obd"


def read_positions(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Impressions and clicks by position (1-3) of one campaign file."""
    shown, clicks = np.zeros(3), np.zeros(3)
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            k = int(row["position"]) - 1
            shown[k] += 1
            clicks[k] += int(row["click"])
    return shown, clicks


def wilson(x: float, n: float) -> list[float]:
    if n == 0:
        return [float("nan")] * 2
    p = x / n
    mid = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return [float(mid - half), float(mid + half)]


def ratio(x1: float, n1: float, xk: float, nk: float) -> dict:
    """CTR_k / CTR_1 with its 95% interval (delta method on the log ratio)."""
    r = (xk / nk) / (x1 / n1)
    se = np.sqrt((1 - xk / nk) / xk + (1 - x1 / n1) / x1)
    return {"ratio": float(r), "ci": [float(r * np.exp(-Z * se)), float(r * np.exp(Z * se))]}


def table(shown: np.ndarray, clicks: np.ndarray) -> dict:
    return {"impressions": shown.astype(int).tolist(), "clicks": clicks.astype(int).tolist(),
            "ctr": [{"ctr": float(c / n), "ci": wilson(c, n)} for c, n in zip(clicks, shown)],
            "ratio_to_first": [ratio(clicks[0], shown[0], clicks[k], shown[k]) for k in (1, 2)]}


def data_table(folder: Path) -> dict:
    out = {}
    for policy in ("random", "bts"):
        total_n, total_c = np.zeros(3), np.zeros(3)
        for camp in CAMPAIGNS:
            n, c = read_positions(folder / policy / camp / f"{camp}.csv")
            total_n, total_c = total_n + n, total_c + c
        out[policy] = table(total_n, total_c)
    return out


def simulated(model: str, episodes: int, scenario: str = "default") -> dict:
    c = recsim_marl.make_config(scenario, slate_size=3, choice_model=model)
    venv = recsim_marl.VecEnv(c, episodes, validate=False)
    obs = venv.reset(seed=list(range(TUNING_SEED, TUNING_SEED + episodes)))
    users = RandomPolicy(c.num_candidates, seed=0, slate_size=3)
    items = torch.zeros(episodes, c.num_items, dtype=torch.long)
    shown, clicks = np.zeros(3), np.zeros(3)
    finished = torch.zeros(episodes, dtype=torch.bool)
    for _ in range(c.max_cycles):
        obs, _, _, _, info = venv.step({"users": users.act(obs["users"], obs["action_mask"]["users"]), "items": items})
        live = ~finished[:, None, None]
        shown += ((info["slate"] >= 0) & live).sum((0, 1)).numpy()
        chose = info["chosen"].unsqueeze(-1) == torch.arange(3)
        clicks += (chose & live).sum((0, 1)).numpy()
        finished |= info["done"]
        if bool(finished.all()):
            break
    return table(shown, clicks)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=16, help="simulated worlds per choice model")
    p.add_argument("--scenario", default="default", help="the simulated worlds' scenario")
    p.add_argument("--out", default="benchmarks/results/calibration_obd.json")
    args = p.parse_args(argv)
    data = data_table(obd_dir())
    sims = {m: simulated(m, args.episodes, args.scenario) for m in CHOICE_MODELS}

    def row(name, t):
        ctr = "  ".join(f"{x['ctr']:.4f} [{x['ci'][0]:.4f}, {x['ci'][1]:.4f}]" for x in t["ctr"])
        rat = "  ".join(f"{x['ratio']:.2f} [{x['ci'][0]:.2f}, {x['ci'][1]:.2f}]" for x in t["ratio_to_first"])
        print(f"{name:>28}  {ctr}  |  {rat}")

    print(f"hardware: {hardware()}\nclick-through rate by position (95% Wilson) | ratio to position 1 (95%)")
    row("OBD uniform-random policy", data["random"])
    row("OBD Bandit TS (confounded)", data["bts"])
    for m, t in sims.items():
        row(f"simulated, {m}", t)
    inside = {m: all(d["ci"][0] <= s["ratio"] <= d["ci"][1]
                     for s, d in zip(t["ratio_to_first"], data["random"]["ratio_to_first"])) for m, t in sims.items()}
    print("simulated ratios inside the data's 95% intervals: " + ", ".join(f"{m} {v}" for m, v in inside.items()))
    payload = {"hardware": hardware(), "scenario": args.scenario, "episodes": args.episodes, "seed": TUNING_SEED,
               "data": data,
               "simulated": sims, "ratios_inside_data_ci": inside,
               "data_source": "obp 0.4.1 package, obp/dataset/obd/{random,bts}/{all,men,women}/*.csv (CC BY 4.0, "
                              "ZOZO, Inc.; Saito et al. 2021)"}
    print(f"wrote {write_json(args.out, payload)}")
    return payload


if __name__ == "__main__":
    main()
