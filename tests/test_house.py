"""The files a researcher looks for when moving in: the version, the license, how to cite, typing."""

import datetime
import importlib.metadata
import os
import subprocess
import sys

import yaml

import recsim_marl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_version_is_the_installed_distributions():
    assert recsim_marl.__version__ == importlib.metadata.version("recsim-marl")
    assert "__version__" in recsim_marl.__all__


def test_version_without_package_metadata_is_unknown_not_made_up():
    code = ("import importlib.metadata as m\n"
            "def missing(name): raise m.PackageNotFoundError(name)\n"
            "m.version = missing\n"
            "import recsim_marl; print(recsim_marl.__version__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0+unknown"


def test_license_is_apache_2_and_the_package_says_so():
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as f:
        text = f.read()
    assert "Apache License" in text and "Version 2.0" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text
    assert importlib.metadata.metadata("recsim-marl")["License-Expression"] == "Apache-2.0"


def test_citation_cff_parses_with_the_fields_a_citation_needs():
    with open(os.path.join(ROOT, "CITATION.cff"), encoding="utf-8") as f:
        cff = yaml.safe_load(f)
    assert cff["cff-version"] == "1.2.0" and cff["message"] and cff["type"] == "software"
    assert cff["title"].startswith("recsim_marl: a vectorized, LLM-text-grounded, two-sided recommender simulator")
    assert cff["authors"] == [{"name": "The recsim_marl authors"}]  # an entity, not a person
    assert str(cff["version"]) == recsim_marl.__version__ == importlib.metadata.version("recsim-marl")
    assert cff["license"] == "Apache-2.0"
    assert cff["date-released"] == datetime.date(2026, 12, 6)


def test_packages_are_marked_typed():
    for package in ("recsim_marl", "agents"):
        assert os.path.isfile(os.path.join(ROOT, package, "py.typed")), package
