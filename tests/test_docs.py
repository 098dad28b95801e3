"""The docs site cannot rot either: every ```python block of every page under docs/ runs as copied, the
way tests/test_readme.py runs the README's (one fresh process, each block in its own namespace, an
empty directory), and ``mkdocs build --strict`` builds the site without a warning."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest
from test_readme import DOCS, OWNED, ROOT, doc_pages, python_blocks, readme_block, run_blocks

PAGES = sorted(DOCS.rglob("*.md"))
SNIPPET = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<section>[a-z][-_0-9a-z]*))?"$', flags=re.M)


def test_every_docs_python_block_runs_as_copied(tmp_path):
    blocks = []
    for page in PAGES:
        name = page.relative_to(ROOT)
        for i, (code, skip) in enumerate(python_blocks(page)):
            if OWNED.match(code):  # run by the test it names (tests/test_rllib.py: the RLlib block)
                continue
            if skip:  # marked <!-- skip-test -->: not run here, but it must still be valid Python
                compile(code, f"<{name} block {i}>", "exec")
            else:
                blocks.append((f"{name} block {i}", code))
    assert len(blocks) >= 8, [label for label, _ in blocks]
    run_blocks(blocks, tmp_path)


def test_a_block_handed_to_another_test_is_run_by_it():
    for page in doc_pages():
        for code, _ in python_blocks(page):
            if m := OWNED.match(code):
                assert "readme_block(" in (ROOT / m.group(1)).read_text(), f"{m.group(1)} does not run its block"
                assert readme_block(m.group(1)) == code


def test_every_included_snippet_exists():
    # pages include parts of README.md, of each other, CHANGELOG.md and CITATION.cff (pymdownx.snippets);
    # checked here too, so a removed marker fails without mkdocs installed
    includes = [(page, m) for page in PAGES for m in SNIPPET.finditer(page.read_text())]
    assert len(includes) >= 5
    for page, m in includes:
        source = ROOT / m.group("path")
        assert source.is_file(), f"{page.name} includes {m.group('path')}, which does not exist"
        if section := m.group("section"):
            text = source.read_text()
            for kind in ("start", "end"):
                assert text.count(f"--8<-- [{kind}:{section}]") == 1, f"{source.name}: [{kind}:{section}] marker"


def test_every_page_is_in_the_nav_and_linked_from_the_readme():
    nav = re.findall(r"^  - [^:\n]+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(), flags=re.M)
    pages = sorted(p.name for p in DOCS.glob("*.md"))
    assert sorted(nav) == pages
    readme = (ROOT / "README.md").read_text()
    documentation = readme.split("\n## Documentation\n", 1)[1].split("\n## ", 1)[0]
    for page in pages:
        assert f"](docs/{page})" in documentation, f"README's Documentation list does not link docs/{page}"


def test_the_tasks_table_matches_the_protocol():
    from recsim_marl.protocol import TASKS

    page = (DOCS / "scenarios.md").read_text()
    assert "## Protocol results" in page and "benchmarks/results/protocol.json" in page
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([\w-]+-v\d+)` \|.*$", page, flags=re.M)}
    assert sorted(rows) == sorted(TASKS)
    for name, task in TASKS.items():
        cells = [c.strip() for c in rows[name].strip("|").split("|")]
        scenario = ", ".join([f"`{task.scenario}`"] + [f"`{k}` " + (f"`{v}`" if isinstance(v, str) else f"{v}")
                                                         for k, v in task.overrides.items()])
        assert cells[1] == scenario and cells[2] == task.learn, cells
        assert cells[4] == f"{task.total_steps:,}", cells
        assert f"seeds {task.eval_seeds.start:,}-{task.eval_seeds.stop - 1:,}" in cells[6], cells


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="mkdocs is not installed (pip install -e '.[dev]' installs it)")
def test_the_site_builds_strict(tmp_path):
    site = tmp_path / "site"
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)], cwd=ROOT,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]
    world = (site / "world" / "index.html").read_text()
    assert "sigmoid(c_u + tau s + alpha_u a_r" in world  # the content is there, formulas included
    for page in site.rglob("*.html"):  # every snippet was expanded
        assert "--8<--" not in page.read_text(), page
    assert "Keep a Changelog" in (site / "changelog" / "index.html").read_text()
    assert 'id="recsim_marl.EnvConfig"' in (site / "api" / "index.html").read_text()
