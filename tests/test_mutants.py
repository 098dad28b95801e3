"""benchmarks.mutants: every planted bug still applies to exactly one place of the code it names (a
refactor that moves the line must move the mutant too, or the bug-catching share would silently drop a
mutant)."""

from pathlib import Path

from benchmarks.mutants import MUTANTS

ROOT = Path(__file__).resolve().parents[1]


def test_every_mutant_applies_once_and_changes_the_line():
    assert len({m[0] for m in MUTANTS}) == len(MUTANTS) >= 20
    for name, rel, old, new in MUTANTS:
        assert (ROOT / rel).read_text().count(old) == 1, name
        assert old != new, name
