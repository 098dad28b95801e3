"""Every ```python block of README.md runs as copied, so the README cannot rot: all blocks run in one
fresh Python process (imports are paid once), each in its own empty namespace, in an empty
directory, with nothing but the package importable (here: the repository on PYTHONPATH).
``tests/test_docs.py`` does the same for the pages under ``docs/``."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIP = "<!-- skip-test -->"
"""An HTML comment on the line just before a block's fence: the block is only compiled, not run (for a
block that needs a network, a GPU, torchrun, Ray or minutes)."""
FENCE = re.compile(r"^(?:(?P<skip>" + re.escape(SKIP) + r")\n)?```python\n(?P<code>.*?)^```", flags=re.S | re.M)
OWNED = re.compile(r"^# (tests/test_\w+\.py) runs this block")
"""A block that starts ``# tests/test_x.py runs this block`` is run, as copied, by that test (which
also checks what it made); every other block runs here (README.md) or in tests/test_docs.py (docs/)."""
TEST_COMMAND = "python -m pytest -q -n 2                # two worker processes; add --durations=15 to see the slowest tests"
"""The README's test command: .ci/run runs it, so it is kept verbatim."""


def python_blocks(path: Path) -> list[tuple[str, bool]]:
    """Each ```python block of a markdown file: (its code, whether a skip-test comment marks it)."""
    return [(m.group("code"), bool(m.group("skip"))) for m in FENCE.finditer(path.read_text())]


def doc_pages() -> list[Path]:
    """README.md and every markdown page of the docs site (and the drafts under docs/)."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


ALL_BLOCKS = [code for code, _ in python_blocks(ROOT / "README.md")]
BLOCKS = [b for b in ALL_BLOCKS if not OWNED.match(b)]


def readme_block(test_file: str) -> str:
    """The block (of README.md or a docs page) that ``test_file`` (e.g. ``tests/test_rllib.py``) runs."""
    owned = [code for page in doc_pages() for code, _ in python_blocks(page)
             if (m := OWNED.match(code)) and m.group(1) == test_file]
    assert len(owned) == 1, f"README.md and docs/ should have one block that {test_file} runs, found {len(owned)}"
    return owned[0]


RUNNER = """
import json, sys, time, traceback
blocks = json.load(sys.stdin)
failed = []
for i, (label, code) in enumerate(blocks):
    t0 = time.perf_counter()
    try:
        exec(compile(code, f"<{label}>", "exec"), {"__name__": "__main__"})
    except BaseException:
        failed.append((i, traceback.format_exc()))
    print(f"{label}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
print(json.dumps(failed))
"""
"""Runs ``[[label, code], ...]`` (JSON on stdin), each block in its own namespace; prints the failures."""


def run_blocks(blocks: list[tuple[str, str]], cwd: Path) -> None:
    """Run labelled blocks with RUNNER in one fresh process in ``cwd`` (empty, and left empty)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # one thread, as each of the suite's worker processes has (conftest.py): a process with torch's default
    # threads beside another busy one spins OpenMP threads for a core the other holds, and the blocks then
    # took 90 s instead of 10 (docs/reliability.md, "Known limits")
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env.setdefault(var, "1")
    out = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(blocks), cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    failed = json.loads(out.stdout.strip().splitlines()[-1])
    report = "\n".join(f"{blocks[i][0]} (starts {blocks[i][1].strip().splitlines()[0]!r}):\n{tb}" for i, tb in failed)
    assert not failed, report
    assert list(cwd.iterdir()) == []  # the blocks leave nothing behind in the working directory


def test_every_readme_python_block_runs_as_copied(tmp_path):
    assert len(BLOCKS) >= 1
    for b in ALL_BLOCKS:  # a block handed to another test names a test file that exists
        if m := OWNED.match(b):
            assert "readme_block(" in (ROOT / m.group(1)).read_text(), f"{m.group(1)} does not run its README block"
    skipped = [code for code, skip in python_blocks(ROOT / "README.md") if skip]
    assert not skipped, "every README block runs: move a block that cannot run here to a docs page"
    run_blocks([(f"README block {i}", b) for i, b in enumerate(BLOCKS)], tmp_path)


def test_the_readme_keeps_the_test_command_ci_runs():
    # .ci/run runs the README's test command; it stays in the README's "## Tests" section, verbatim
    readme = (ROOT / "README.md").read_text()
    tests = readme.split("\n## Tests\n", 1)[1].split("\n## ", 1)[0]
    assert f"```bash\n{TEST_COMMAND}\n```" in tests
    assert "python -m pytest -q -n 2\n" in (ROOT / ".ci" / "run").read_text()


def test_the_runner_reports_a_broken_block(tmp_path):
    # the check itself works: a block that uses a name it never imported is reported, as the old
    # "Your own policy" block was (NameError: name 'recsim_marl' is not defined)
    blocks = [("block 0", "x = 1"), ("block 1", "recsim_marl.make_config()")]
    out = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(blocks),
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    failed = json.loads(out.stdout.strip().splitlines()[-1])
    assert [i for i, _ in failed] == [1] and "NameError: name 'recsim_marl' is not defined" in failed[0][1]


def test_a_skip_test_comment_marks_only_the_next_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"text\n\n{SKIP}\n```python\nimport ray\n```\n\n```python\nx = 1\n```\n")
    assert python_blocks(page) == [("import ray\n", True), ("x = 1\n", False)]
