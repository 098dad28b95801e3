"""Does the test suite catch bugs? Plants realistic single-line bugs, one at a time, in a copy of the
repository (a git worktree of HEAD), runs the README's test command against each, and reports the share
caught (the suite fails) with the first failing test (issue 18 item 9).

The set below was written fresh after the 26 of issue 18's first measurement and the 8 that survived
them (each of those now has its own test); none is an equivalent mutant by design (each changes what a
user of that code path gets in a default or documented scenario).

    python -m benchmarks.mutants                       # every mutant (about 2-3 minutes each here)
    python -m benchmarks.mutants --only budget-sensitivity gae-live --pytest-args "-x -q"
    python -m benchmarks.mutants --list
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import hardware, write_json

ROOT = Path(__file__).resolve().parents[1]

MUTANTS = [
    # id, file, original line fragment (unique in the file), planted bug
    ("drift-direction", "recsim_marl/models/user.py",
     "return normalize(interest + step * (content - interest), dim=-1)",
     "return normalize(interest + step * (interest - content), dim=-1)"),
    ("budget-sensitivity", "recsim_marl/models/user.py",
     "return budget - 1.0 + gain * sensitivity * click * (2.0 * satisfied - 1.0)",
     "return budget - 1.0 + gain * click * (2.0 * satisfied - 1.0)"),
    ("trust-recovery", "recsim_marl/models/user.py",
     "return (trust + recovery * (1.0 - trust) - loss",
     "return (trust + recovery * trust - loss"),
    ("memory-rate", "recsim_marl/models/user.py",
     "(2.0 * satisfied - 1.0), c.memory_rate)",
     "(2.0 * satisfied - 1.0), 1.0 - c.memory_rate)"),
    ("return-trust-sign", "recsim_marl/models/user.py",
     "c.return_trust * (trust - 1.0))",
     "c.return_trust * (1.0 - trust))"),
    ("distrust-term", "recsim_marl/models/user.py",
     "sponsored = shown * (promotion * trust - distrust * (1.0 - trust))",
     "sponsored = shown * (promotion * trust - distrust * trust)"),
    ("satisfaction-bias-sign", "recsim_marl/models/user.py",
     "return sigmoid(temperature * aff + quality_weight * quality + bias)",
     "return sigmoid(temperature * aff + quality_weight * quality - bias)"),
    ("dwell-of-disappointed", "recsim_marl/models/user.py",
     "return click * length * (satisfied + disappointed_dwell * (1.0 - satisfied))",
     "return click * length * (satisfied + disappointed_dwell * satisfied)"),
    ("boredom-sign", "recsim_marl/models/user.py",
     "return (interest * content).sum(-1) - boredom_weight * (boredom * content).sum(-1)",
     "return (interest * content).sum(-1) + boredom_weight * (boredom * content).sum(-1)"),
    ("watched-not-a-share", "recsim_marl/core/vec_env.py",
     "watched = (w / length.clamp_min(1e-6)).clamp(0.0, 1.0)",
     "watched = w.clamp(0.0, 1.0)"),
    ("budget-zero-stays", "recsim_marl/core/vec_env.py",
     "stays = present & (budget > 0)",
     "stays = present & (budget >= 0)"),
    ("back-while-present", "recsim_marl/core/vec_env.py",
     "back = alive & ~present & (draws[2] < p_back)",
     "back = alive & (draws[2] < p_back)"),
    ("visit-time-on-return", "recsim_marl/core/vec_env.py",
     "visit_time=torch.where(present_next & ~back, s.visit_time + 1.0, 0.0)",
     "visit_time=torch.where(present_next, s.visit_time + 1.0, 0.0)"),
    ("impressions-are-clicks", "recsim_marl/core/vec_env.py",
     "impressions_i = torch.zeros_like(s.funds).scatter_add_(1, rec, pres_f)",
     "impressions_i = torch.zeros_like(s.funds).scatter_add_(1, rec, click)"),
    ("return-summed", "recsim_marl/core/vec_env.py",
     "user_return=s.user_return + user_r.mean(-1)",
     "user_return=s.user_return + user_r.sum(-1)"),
    ("horizon-off-by-one", "recsim_marl/core/vec_env.py",
     "time_up = t_next >= c.max_cycles",
     "time_up = t_next > c.max_cycles"),
    ("history-logs-impressions", "recsim_marl/models/platform.py",
     "return torch.lerp(history, click.unsqueeze(-1) * content, rate)",
     "return torch.lerp(history, content, rate)"),
    ("level-price", "recsim_marl/models/market.py",
     "per_level = cost / (num_levels - 1)",
     "per_level = cost / num_levels"),
    ("team-mean-over-all", "recsim_marl/models/market.py",
     "mean = (reward * act).sum(-1, keepdim=True) / act.sum(-1, keepdim=True).clamp_min(1.0)",
     "mean = reward.mean(-1, keepdim=True)"),
    ("completion-over-impressions", "recsim_marl/core/observation.py",
     "return (s.completion_ma / s.click_ma.clamp_min(1e-6)).clamp(0.0, 1.0)",
     "return (s.completion_ma / s.impression_ma.clamp_min(1e-6)).clamp(0.0, 1.0)"),
    ("length-over-sum", "recsim_marl/core/observation.py",
     "return world.length / world.length.amax(-1, keepdim=True)",
     "return world.length / world.length.sum(-1, keepdim=True)"),
    ("gae-live", "agents/mappo.py",
     "last = delta + gamma * lam * live * last",
     "last = delta + gamma * lam * last"),
    ("ppo-clip-upper", "agents/mappo.py",
     "return torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip, 1 + clip))",
     "return torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip, 1 + 2 * clip))"),
    ("double-q-chooser", "agents/iql.py",
     "chooser = q_online if double_q else q_target",
     "chooser = q_target if double_q else q_online"),
    ("recall-denominator", "agents/evaluation.py",
     'recall = acc["tp"] / acc["rel_total"].clamp_min(1)',
     'recall = acc["tp"] / acc["recs"].clamp_min(1)'),
    ("cem-worst-elite", "agents/baselines.py",
     "order = ret.argsort(descending=True)",
     "order = ret.argsort()"),
]


def run(mutant: tuple, tree: Path, pytest_args: list[str], timeout: int) -> dict:
    name, rel, old, new = mutant
    path = tree / rel
    text = path.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"mutant {name}: {old!r} occurs {text.count(old)} times in {rel}, not once")
    path.write_text(text.replace(old, new))
    t = time.perf_counter()
    try:
        # tests/test_mutants.py checks that each mutant's line is in the code: a planted bug fails it by design
        out = subprocess.run([sys.executable, "-m", "pytest", *pytest_args, "--ignore=tests/test_mutants.py"], cwd=tree,
                             capture_output=True, text=True, timeout=timeout)
        rc, log = out.returncode, out.stdout + out.stderr
    except subprocess.TimeoutExpired:
        rc, log = -1, "timeout"
    finally:
        path.write_text(text)
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", log, re.M)
    return {"id": name, "file": rel, "caught": rc != 0, "returncode": rc, "first_failure": failed[0] if failed else None,
            "failures": len(failed), "seconds": round(time.perf_counter() - t, 1)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", metavar="ID", help="these mutants only")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    p.add_argument("--pytest-args", default="-q -n 2 -p no:cacheprovider",
                   help="the test command's arguments (default: the README's, without a cache)")
    p.add_argument("--timeout", type=int, default=1200, help="seconds per mutant before it counts as caught")
    p.add_argument("--out", default="benchmarks/results/mutants.json")
    args = p.parse_args(argv)
    ids = [m[0] for m in MUTANTS]
    if args.list:
        for m in MUTANTS:
            print(f"{m[0]:28s} {m[1]}: {m[3]}")
        return {}
    unknown = sorted(set(args.only or ()) - set(ids))
    if unknown:
        p.error(f"unknown mutant(s) {unknown}; see --list")
    chosen = [m for m in MUTANTS if not args.only or m[0] in args.only]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), "HEAD"], cwd=ROOT, check=True, capture_output=True)
        try:
            for j, m in enumerate(chosen, 1):
                rows.append(run(m, tree, shlex.split(args.pytest_args), args.timeout))
                r = rows[-1]
                print(f"{j:2d}/{len(chosen)} {r['id']:28s} {'caught' if r['caught'] else 'MISSED':7s} "
                      f"{r['seconds']:6.0f}s  {r['first_failure'] or ''}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
    caught = sum(r["caught"] for r in rows)
    print(f"\ncaught {caught} of {len(rows)} ({caught / max(len(rows), 1):.0%})")
    payload = {"commit": head, "hardware": hardware(), "pytest_args": args.pytest_args, "caught": caught,
               "total": len(rows), "share": caught / max(len(rows), 1), "rows": rows,
               "command": "python -m benchmarks.mutants " + " ".join(sys.argv[1:] if argv is None else argv)}
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
