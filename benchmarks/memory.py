"""The memory check's estimate against the measured peak, world by world.

Each case runs in its own process: import, then build the world and ``num_envs`` envs of it (hash
encoder: the encoder's memory is not what is estimated), reset and step three times; the measured peak
is the process's peak resident set (``VmHWM``) minus its resident set after the imports (Linux). The estimate is
``recsim_marl.core.world.estimate_bytes`` (what ``make_vec`` compares with the free memory before it
builds anything).

    python -m benchmarks.memory            # the four sizes below (about 2 minutes, 5 GB at most)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import hardware, write_json

CASES = [(64, 10_000, 16), (64, 40_000, 1), (1_000, 1_000, 64), (64, 256, 1_024)]
"""(people, items, envs): a big catalogue, a bigger one, many people, many worlds."""

_CASE = """
import json, sys, torch
import recsim_marl
from recsim_marl.core.world import estimate_bytes


def status(key):  # this process's memory in bytes (Linux): VmRSS now, VmHWM its peak since exec
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))


u, i, n = map(int, sys.argv[1:4])
kw = dict(num_users=u, num_items=i, encoder="hash")
base = status("VmRSS")  # after the imports (not their peak)
venv = recsim_marl.make_vec(num_envs=n, **kw)
venv.reset(seed=0)
acts = {"users": torch.zeros(n, u, dtype=torch.long), "items": torch.zeros(n, i, dtype=torch.long)}
for _ in range(3):
    venv.step(acts)
peak = status("VmHWM") - base  # not ru_maxrss: after fork and exec it also holds the parent's resident set
print(json.dumps({"people": u, "items": i, "envs": n, "estimate_mb": estimate_bytes(venv.config, n) / 2**20,
                  "measured_mb": peak / 2**20}))
"""


def measure(people: int, items: int, envs: int) -> dict:
    """One case in a fresh process with its own empty embedding cache (Linux: reads /proc)."""
    with tempfile.TemporaryDirectory() as cache:
        # a clean environment: only what finds Python and its packages (no thread or library settings of
        # the caller's, which change the peak)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV")}
        env.update(RECSIM_MARL_CACHE=cache, RECSIM_MARL_MEMORY_CHECK="1")
        out = subprocess.run([sys.executable, "-c", _CASE, str(people), str(items), str(envs)], capture_output=True,
                             text=True, cwd=Path(__file__).resolve().parents[1], env=env)
    if out.returncode != 0:
        raise RuntimeError(f"case {people} x {items} x {envs} failed:\n{out.stderr[-2000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["ratio"] = row["estimate_mb"] / row["measured_mb"]
    return row


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="benchmarks/results/memory.json")
    args = p.parse_args(argv)
    rows = []
    print(f"{'people':>7} {'items':>8} {'envs':>6} {'estimate MB':>12} {'measured MB':>12} {'ratio':>6}")
    for case in CASES:
        r = measure(*case)
        rows.append(r)
        print(f"{r['people']:>7} {r['items']:>8} {r['envs']:>6} {r['estimate_mb']:>12,.0f} {r['measured_mb']:>12,.0f} "
              f"{r['ratio']:>6.2f}", flush=True)
    payload = {"command": "python -m benchmarks.memory " + " ".join(argv if argv is not None else sys.argv[1:]),
               "hardware": hardware(), "cases": rows}
    write_json(args.out, payload)
    print(f"wrote {args.out}")
    return payload


if __name__ == "__main__":
    main()
