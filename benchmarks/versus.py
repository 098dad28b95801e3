"""The core's speed at one commit against another, measured side by side in one run.

A change to the world must not make the core slow (issue 8: user-steps/s on ``default`` at its best
batch size >= 80% of before). This script checks out ``--old`` (a commit) in a temporary git worktree
and times ``VecEnv.step`` of both trees in fresh processes, alternating old and new ``--rounds`` times
per batch size, so both see the same machine load. It reports the best rate of each and their ratio.
Run it on a quiet machine; on a shared one the ratio is what to read.

    python -m benchmarks.versus --old 1bb22f6 --out benchmarks/results/versus.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import hardware, write_json

ROOT = Path(__file__).resolve().parent.parent

_CASE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import torch
import recsim_marl
b, steps = int(sys.argv[2]), int(sys.argv[3])
venv = recsim_marl.make_vec(b, scenario=sys.argv[4], validate=False, **json.loads(sys.argv[5]))
venv.reset(seed=0)
c = venv.config
s = getattr(c, "slate_size", 1)  # a slate: the first S candidates
users = torch.arange(s).expand(b, c.num_users, s).clone() if s > 1 else torch.zeros(b, c.num_users, dtype=torch.long)
acts = {"users": users, "items": torch.zeros(b, c.num_items, dtype=torch.long)}
for _ in range(5):
    venv.step(acts)
best = 0.0
for _ in range(3):
    t = time.perf_counter()
    for _ in range(steps):
        venv.step(acts)
    best = max(best, steps * b * c.num_users / (time.perf_counter() - t))
print(json.dumps({"file": recsim_marl.__file__, "user_steps_per_s": best}))
"""


def rate(tree: Path, num_envs: int, steps: int, scenario: str, overrides: dict | None = None) -> float:
    """User-steps/s of ``VecEnv.step`` of the code in ``tree`` (its best of 3 timings after warm-up), in a
    fresh process; ``overrides``: config fields of the scenario to change."""
    out = subprocess.run([sys.executable, "-c", _CASE, str(tree), str(num_envs), str(steps), scenario,
                          json.dumps(overrides or {})], check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    if not r["file"].startswith(str(tree)):
        raise RuntimeError(f"imported {r['file']}, not the tree {tree}")
    return r["user_steps_per_s"]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", required=True, help="the commit to compare with (e.g. the one before a change)")
    p.add_argument("--scenario", default="default")
    p.add_argument("--num-envs", type=int, nargs="*", default=[64, 256, 1024])
    p.add_argument("--rounds", type=int, default=3, help="alternations of old and new per batch size")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--out", default="benchmarks/results/versus.json")
    args = p.parse_args(argv)
    new_rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    print(f"hardware: {hardware()}\nscenario: {args.scenario}; old {args.old} vs new {new_rev} (working tree)\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(old_tree), args.old], cwd=ROOT, check=True)
        try:
            print(f"{'num_envs':>9} {'old user-steps/s':>17} {'new user-steps/s':>17} {'new / old':>10}")
            for b in args.num_envs:
                old, new = [], []
                for _ in range(args.rounds):
                    old.append(rate(old_tree, b, args.steps, args.scenario))
                    new.append(rate(ROOT, b, args.steps, args.scenario))
                row = {"num_envs": b, "old": max(old), "new": max(new), "ratio": max(new) / max(old)}
                rows.append(row)
                print(f"{b:>9} {row['old']:>17,.0f} {row['new']:>17,.0f} {row['ratio']:>9.2f}x")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT, check=False)
    best_old = max(r["old"] for r in rows)
    best_new = max(r["new"] for r in rows)
    summary = {"best_old": best_old, "best_new": best_new, "best_ratio": best_new / best_old}
    print(f"\nbest batch size: old {best_old:,.0f}, new {best_new:,.0f} user-steps/s: {summary['best_ratio']:.2f}x")
    result = {"hardware": hardware(), "scenario": args.scenario, "old": args.old, "new": new_rev, "rows": rows,
              **summary}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
