"""Built-in MAPPO and IQL on two ranks with torchrun (gloo on CPU): the ranks simulate different worlds,
average their gradients, end with the same networks, and a resumed run equals an uninterrupted one."""

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rewards(path: Path) -> list[str]:
    with open(path) as f:
        return [r["value"] for r in csv.DictReader(f) if r["tag"] == "charts/users/reward"]


def test_two_ranks_train_one_network_and_resume_exactly(tmp_path):
    # one torchrun launch (starting ranks costs most of the time); tests/helpers/ddp_learners.py trains
    # MAPPO and IQL, then stops and resumes the same runs, on each rank
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / "tests" / "helpers" / "ddp_learners.py"), str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    ranks = re.findall(r"rank (\d) parameters digest", out.stdout)
    assert sorted(set(ranks)) == ["0", "1"] and len(ranks) == 12, out.stdout[-2000:]  # 2 learners x 3 runs x 2 ranks
    for learner in ("mappo", "iql"):
        results = re.findall(rf"RESULT {learner} full=([0-9a-f]+) resumed=([0-9a-f]+)", out.stdout)
        assert len(results) == 2, (learner, out.stdout[-2000:])
        assert results[0] == results[1], learner  # the same networks on both ranks ...
        assert results[0][0] == results[0][1], learner  # ... and resuming gave what the uninterrupted run gave
        # ... although each rank simulated its own worlds: the rewards they logged differ
        log_dir = tmp_path / learner / "full"
        assert rewards(log_dir / "scalars.csv") != rewards(log_dir / "rank1" / "scalars.csv"), learner
        assert (log_dir / "checkpoint.pt").exists() and not (log_dir / "rank1" / "checkpoint.pt").exists()


def test_module_entry_points_take_the_cli_flags():
    for module in ("agents.mappo", "agents.iql"):
        out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert out.returncode == 0 and "--total-steps" in out.stdout, out.stderr[-2000:]
