"""Every ```python block of README.md runs as copied, so the README cannot rot: all blocks run in one
fresh Python process (imports are paid once), each in its own empty namespace, in an empty
directory, with nothing but the package importable (here: the repository on PYTHONPATH)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALL_BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)
OWNED = re.compile(r"^# (tests/test_\w+\.py) runs this block")
"""A block that starts ``# tests/test_x.py runs this block`` is run, as copied, by that test (which
also checks what it made); every other block runs here."""
BLOCKS = [b for b in ALL_BLOCKS if not OWNED.match(b)]


def readme_block(test_file: str) -> str:
    """The README block that ``test_file`` (e.g. ``tests/test_rllib.py``) runs."""
    owned = [b for b in ALL_BLOCKS if (m := OWNED.match(b)) and m.group(1) == test_file]
    assert len(owned) == 1, f"README.md should have one block that {test_file} runs, found {len(owned)}"
    return owned[0]

RUNNER = """
import json, sys, time, traceback
blocks = json.load(sys.stdin)
failed = []
for i, code in enumerate(blocks):
    t0 = time.perf_counter()
    try:
        exec(compile(code, f"<README block {i}>", "exec"), {"__name__": "__main__"})
    except BaseException:
        failed.append((i, traceback.format_exc()))
    print(f"README block {i}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
print(json.dumps(failed))
"""


def test_every_readme_python_block_runs_as_copied(tmp_path):
    assert len(BLOCKS) >= 3
    for b in ALL_BLOCKS:  # a block handed to another test names a test file that exists
        if m := OWNED.match(b):
            assert "readme_block(" in (ROOT / m.group(1)).read_text(), f"{m.group(1)} does not run its README block"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(BLOCKS), cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    failed = json.loads(out.stdout.strip().splitlines()[-1])
    report = "\n".join(f"README block {i} (starts {BLOCKS[i].strip().splitlines()[0]!r}):\n{tb}" for i, tb in failed)
    assert not failed, report
    assert list(tmp_path.iterdir()) == []  # the blocks leave nothing behind in the working directory


def test_the_runner_reports_a_broken_block(tmp_path):
    # the check itself works: a block that uses a name it never imported is reported, as the old
    # "Your own policy" block was (NameError: name 'recsim_marl' is not defined)
    out = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(["x = 1", "recsim_marl.make_config()"]),
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    failed = json.loads(out.stdout.strip().splitlines()[-1])
    assert [i for i, _ in failed] == [1] and "NameError: name 'recsim_marl' is not defined" in failed[0][1]
