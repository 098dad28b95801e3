"""How close is ``movielens-100k`` to MovieLens-100k? Simulated consumption against the real ratings.

Greedy users (the platform's plain ranker) and items that never promote play ``--episodes`` episodes
of a world holding the whole training split (752 people x 1,391 films: the data without the held-out
people and the films of 1997-1998; ``--env split=test`` for the other, written to
``calibration_test.json`` unless ``--out`` says otherwise); a click is one consumption, as a rating is in
the data: a film's count is its ratings by the split's people, a person's their ratings of any film.
The table compares, side by side: the share of consumption of the top 1% and top 10% of items,
the items' Gini coefficient, the share of items never consumed, the coefficient of variation of
consumption per person, the Spearman correlation of an item's consumption with its quality, and the
click-through rate (no real counterpart: MovieLens logs ratings, not impressions). Bands (issue 8):
top-1% share <= 2x the data's; Gini within +-0.15 of the data's; never consumed <= 30%; activity CV
>= 0.5x the data's. ``tests/test_calibration.py`` checks them on a shorter run.

    python -m benchmarks.calibration --out benchmarks/results/calibration.json
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import recsim_marl
from benchmarks.common import hardware, write_json
from recsim_marl.catalog import build_catalog


def gini(x: np.ndarray) -> float:
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return 0.0
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (n * x.sum()))


def top_share(x: np.ndarray, frac: float) -> float:
    x = np.sort(np.asarray(x, dtype=np.float64))[::-1]
    k = max(1, int(round(frac * len(x))))
    return float(x[:k].sum() / max(x.sum(), 1e-12))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(np.float64)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(np.float64)
    return float(np.corrcoef(ra, rb)[0, 1])


def statistics(item_counts: np.ndarray, user_counts: np.ndarray, quality: np.ndarray) -> dict:
    return {
        "top1_share": top_share(item_counts, 0.01),
        "top10_share": top_share(item_counts, 0.10),
        "item_gini": gini(item_counts),
        "never_consumed": float((item_counts == 0).mean()),
        "activity_cv": float(user_counts.std() / max(user_counts.mean(), 1e-12)),
        "spearman_quality": spearman(item_counts, quality),
    }


BANDS = {  # statistic: (test on (simulated, real), how it reads)
    "top1_share": (lambda s, r: s <= 2 * r, "<= 2x data"),
    "item_gini": (lambda s, r: abs(s - r) <= 0.15, "data +- 0.15"),
    "never_consumed": (lambda s, r: s <= 0.30, "<= 0.30"),
    "activity_cv": (lambda s, r: s >= 0.5 * r, ">= 0.5x data"),
}


def simulate(episodes: int, seed: int, **overrides) -> tuple[dict, dict, float]:
    """(simulated statistics, real statistics, CTR) for greedy users on ``movielens-100k``: worlds of the
    whole split (``split`` in ``overrides``, 'train' by default), whose data counts are that split's."""
    sized = sorted({"num_items", "num_users", "catalog_seed"} & set(overrides))
    if sized:
        raise ValueError(f"calibration plays the whole split: drop {sized} (the split's pool sets the world)")
    pool = build_catalog(recsim_marl.make_config("movielens-100k", **overrides))
    venv = recsim_marl.make_vec(episodes, scenario="movielens-100k", num_items=len(pool.item_texts),
                                num_users=len(pool.user_texts), **overrides)
    c, lay = venv.config, venv.layouts["users"]
    obs = venv.reset(seed=seed)
    item_n = torch.zeros(c.num_items)
    user_n = torch.zeros(episodes, c.num_users)
    clicks = shown = 0.0
    items = torch.zeros(episodes, c.num_items, dtype=torch.long)
    for _ in range(c.max_cycles):  # one episode each (the envs end together at max_cycles or earlier)
        present = venv.current.present.clone()
        users = lay.read(obs["users"], "candidate_relevance").argmax(-1)
        obs, _, _, _, info = venv.step({"users": users, "items": items})
        click = info["clicked"].float()
        item_n += torch.zeros(episodes, c.num_items).scatter_add_(1, info["recommended"], click).sum(0)
        user_n += click
        clicks += float(click.sum())
        shown += float(present.sum())
        if bool(info["done"].all()):
            break
    cat = venv.world.catalog
    quality = venv.world.quality.numpy()
    sim = statistics(item_n.numpy(), user_n.sum(0).numpy(), quality)
    real = statistics(cat.item_counts, cat.user_counts, quality)
    return sim, real, clicks / max(shown, 1.0)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides (to explore)")
    p.add_argument("--out", default=None,
                   help="JSON to write (default: benchmarks/results/calibration.json, calibration_test.json for split=test)")
    args = p.parse_args(argv)
    from agents.cli import _parse_override

    overrides = dict(_parse_override(kv) for kv in args.env)
    if args.out is None:
        args.out = f"benchmarks/results/calibration{'_test' if overrides.get('split') == 'test' else ''}.json"
    sim, real, ctr = simulate(args.episodes, args.seed, **overrides)
    print(f"hardware: {hardware()}\nmovielens-100k, greedy users, no promotion, {args.episodes} episodes\n")
    print(f"{'statistic':>18} {'MovieLens-100k':>15} {'simulated':>10} {'band':>14} {'ok':>4}")
    rows = {}
    for name in sim:
        band = BANDS.get(name)
        ok = band[0](sim[name], real[name]) if band else None
        rows[name] = {"real": real[name], "simulated": sim[name], "band": band[1] if band else None, "ok": ok}
        print(f"{name:>18} {real[name]:>15.3f} {sim[name]:>10.3f} {band[1] if band else '':>14} "
              f"{'' if ok is None else ('yes' if ok else 'NO'):>4}")
    print(f"{'ctr':>18} {'(not logged)':>15} {ctr:>10.3f}")
    result = {"hardware": hardware(), "episodes": args.episodes, "seed": args.seed, "overrides": overrides,
              "rows": rows, "ctr": ctr}
    print(f"\nwrote {write_json(args.out, result)}")
    return result


if __name__ == "__main__":
    main()
