"""The command line: every learner flag parses to its field's type and round-trips into Args, help is
fast (no torch), plain text and describes every option, and the demo's table fits 100 columns."""

import argparse
import dataclasses
import os
import subprocess
import sys
import typing

import pytest

from agents import args as args_mod
from agents.cli import DEMO_LEGEND, DEMO_METRICS, args_from_namespace, build_parser, field_kind, format_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEARNERS = {"mappo": args_mod.MappoArgs, "iql": args_mod.IqlArgs}


def _other_value(tp, optional, default):
    """A value of the field's type that differs from its default, and its command-line text."""
    if tp is bool:
        return (not default), None
    if tp is int:
        v = (default or 0) + 3
        return v, str(v)
    if tp is float:
        v = default * 0.5 + 0.125
        return v, repr(v)
    if tp is str:
        return default + "_x", default + "_x"
    raise AssertionError(tp)


@pytest.mark.parametrize("algorithm", sorted(LEARNERS))
def test_every_flag_parses_to_its_type_and_round_trips(algorithm):
    cls = LEARNERS[algorithm]
    parser = build_parser()
    hints = typing.get_type_hints(cls)
    defaults = args_from_namespace(cls, parser.parse_args(["train", algorithm]))
    assert defaults == cls()  # no flags: exactly the dataclass defaults
    for f in dataclasses.fields(cls):
        tp, optional = field_kind(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        default = getattr(cls(), f.name)
        if tp is dict:
            argv = [flag, "num_users=5", flag, "click_temperature=2.5", flag, "encoder=hash"]
            want = {"num_users": 5, "click_temperature": 2.5, "encoder": "hash"}
        elif tp is bool:
            want, _ = _other_value(tp, optional, default)
            argv = [flag if want else "--no-" + flag[2:]]
        else:
            want, text = _other_value(tp, optional, default)
            argv = [flag, text]
        got = getattr(args_from_namespace(cls, parser.parse_args(["train", algorithm, *argv])), f.name)
        assert got == want and type(got) is type(want), (f.name, argv, got, want)
        if optional:  # `int | None`: 'none' gives None, a number gives an int
            ns = parser.parse_args(["train", algorithm, flag, "none"])
            assert getattr(args_from_namespace(cls, ns), f.name) is None
        if tp in (int, float):
            with pytest.raises(SystemExit):  # a word where a number belongs is an argparse error
                parser.parse_args(["train", algorithm, flag, "many"])


def test_field_kinds_cover_every_annotation():
    assert field_kind(int) == (int, False) and field_kind(int | None) == (int, True)
    assert field_kind(typing.Optional[float]) == (float, True)  # noqa: UP045 and field_kind(dict) == (dict, False)
    with pytest.raises(TypeError, match="cannot build a flag"):
        field_kind(list)


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for inner_name, inner in _subparsers(sub):
                    yield f"{name} {inner_name}", inner


def test_every_command_and_option_has_a_plain_text_description():
    parser = build_parser()
    commands = dict(_subparsers(parser))
    assert {"demo", "train", "evaluate", "train mappo", "train iql"} <= set(commands)
    for name, sub in commands.items():
        assert sub.description, f"'recsim-marl {name} --help' has no description"
        text = sub.format_help()
        assert "``" not in text, f"'recsim-marl {name} --help' shows reST markup"
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction) or action.dest == "help":
                continue
            assert action.help and len(action.help) > 10, f"recsim-marl {name}: {action.option_strings} has no help"
    assert "``" not in parser.format_help()


def test_help_does_not_import_torch():
    code = ("import sys, agents.cli as c; p = c.build_parser(); p.format_help()\n"
            "for a in ('train', 'evaluate', 'demo'):\n"
            "    try: p.parse_args([a, '--help'])\n"
            "    except SystemExit: pass\n"
            "print('torch' in sys.modules, 'recsim_marl' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_demo_table_fits_100_columns_and_its_legend_explains_every_column():
    for value in [(20.304, 0.971), (-2.54, 0.02), (-123.456, 12.345), (123456.7, 99999.0)]:
        rows = {name: {key: value for key, _ in DEMO_METRICS.values()} for name in ("random", "myopic oracle*")}
        table = format_table(rows)
        assert max(len(line) for line in table.splitlines()) <= 100, table
    for head in DEMO_METRICS:
        assert head in table.splitlines()[0] and f"  {head} " in DEMO_LEGEND
    rows = {"greedy": {key: (20.304, 0.971) for key, _ in DEMO_METRICS.values()}}
    assert format_table(rows).splitlines()[2].split()[1:] == ["20.3±1.0"] * len(DEMO_METRICS)
    rows = {"greedy": {key: (0.671, 0.024) for key, _ in DEMO_METRICS.values()}}
    assert format_table(rows).splitlines()[2].split()[1:] == ["0.67±0.02"] * len(DEMO_METRICS)


def test_demo_runs_and_explains_itself(capsys):
    from agents.cli import main

    assert main(["demo", "--scenario", "tiny", "--episodes", "2"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("policy "):out.index("columns (mean")]
    assert max(len(line) for line in table.splitlines()) <= 100
    assert "churn" in out and "people who left show the negative budget" in out and "oracle*" in out
