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


# --- flag ranges: declared beside each field, refused with the flag's name (issue 18) ------------------

BAD_FLAGS = [
    ("train mappo --num-steps 0", "--num-steps", ">= 1"),
    ("train mappo --num-minibatches 0", "--num-minibatches", ">= 1"),
    ("train mappo --update-epochs 0", "--update-epochs", ">= 1"),
    ("train mappo --device tpu", "--device", "cuda:N"),
    ("train iql --device cuda:x", "--device", "cuda:N"),
    ("train mappo --gamma 1.5", "--gamma", "in [0, 1]"),
    ("train mappo --gae-lambda -0.1", "--gae-lambda", "in [0, 1]"),
    ("train mappo --gae-lambda 1.01", "--gae-lambda", "in [0, 1]"),
    ("train mappo --hidden 0", "--hidden", ">= 1"),
    ("train mappo --total-steps -5", "--total-steps", ">= 1"),
    ("train mappo --eval-episodes -1", "--eval-episodes", ">= 0"),
    ("train mappo --num-envs 0", "--num-envs", ">= 1"),
    ("train mappo --lr 0", "--lr", "> 0"),
    ("train mappo --lr -0.001", "--lr", "> 0"),
    ("train mappo --lr nan", "--lr", "> 0"),
    ("train mappo --clip-coef -0.2", "--clip-coef", ">= 0"),
    ("train mappo --max-grad-norm 0", "--max-grad-norm", "> 0"),
    ("train mappo --adv-norm agent", "--adv-norm", "per_agent"),
    ("train mappo --stop-after-updates 0", "--stop-after-updates", ">= 1 or none"),
    ("train mappo --seed -1", "--seed", ">= 0"),
    ("train mappo --scenario retentoin", "--scenario", "did you mean 'retention'"),
    ("train iql --batch-size 0", "--batch-size", ">= 1"),
    ("train iql --buffer-size 0", "--buffer-size", ">= 1"),
    ("train iql --eps-start 1.5", "--eps-start", "in [0, 1]"),
    ("train iql --eps-end -0.1", "--eps-end", "in [0, 1]"),
    ("train iql --eps-fraction 2", "--eps-fraction", "in [0, 1]"),
    ("train iql --target-every 0", "--target-every", ">= 1"),
    ("train iql --gradient-steps 0", "--gradient-steps", ">= 1"),
    ("train iql --learning-starts -1", "--learning-starts", ">= 0"),
    ("train iql --learn all", "--learn", "users, items, both"),
    ("train iql --checkpoint-every 0", "--checkpoint-every", ">= 1"),
    ("evaluate --checkpoint missing.pt --episodes 0", "--episodes", ">= 1"),
    ("demo --episodes 0", "--episodes", ">= 1"),
    ("demo --scenario nope", "--scenario", "retention"),
]


@pytest.mark.parametrize("argv, flag, allowed", BAD_FLAGS, ids=[case[0] for case in BAD_FLAGS])
def test_a_flag_out_of_range_is_one_line_naming_it_and_exit_code_2(argv, flag, allowed, capsys, monkeypatch):
    from agents import cli

    def never(algorithm):  # a regression would start training: fail at once instead
        raise AssertionError(f"{argv!r} reached the learner")

    monkeypatch.setattr(cli, "_module", never)
    assert cli.main(argv.split()) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"recsim-marl: error: {flag} must be ") and allowed in err, err
    assert argv.split()[argv.split().index(flag) + 1] in err  # and the value given


def test_the_installed_command_exits_2_with_one_line_and_no_torch():
    out = subprocess.run([sys.executable, "-m", "agents.cli", "train", "mappo", "--gamma", "1.5"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 2, out
    assert out.stderr.strip() == "recsim-marl: error: --gamma must be in [0, 1]; got 1.5"


def test_every_numeric_or_choice_option_declares_its_range_beside_it():
    parser = build_parser()
    for algorithm, cls in LEARNERS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp, _ = field_kind(hints[f.name])
            if tp in (int, float) or f.name in ("scenario", "learn", "device", "adv_norm"):
                check = f.metadata.get("check")
                assert isinstance(check, args_mod.Check), f"{cls.__name__}.{f.name} has no range in its metadata"
                assert check(getattr(cls(), f.name)), f"{cls.__name__}.{f.name}: the default is out of range"
        sub = dict(_subparsers(parser))[f"train {algorithm}"]
        helps = {a.dest: a.help for a in sub._actions}
        assert helps["total_steps"].endswith(f"(>= 1; default: {cls().total_steps})")  # the range in --help
        assert helps["gamma"].endswith("(in [0, 1]; default: 0.95)")
        for f in dataclasses.fields(cls):  # each flag's help is declared beside its field, read from there
            assert len(f.metadata.get("help", "")) > 5, f"{cls.__name__}.{f.name}: declare it with agents.args.option"
            assert helps[f.name].startswith(f.metadata["help"].replace("%", "%%")), f.name


def test_scenario_help_lists_every_registered_scenario_without_importing_torch():
    code = ("import sys, agents.cli as c; p = c.build_parser(); import agents.args as a\n"
            "print('torch' in sys.modules, 'recsim_marl' in sys.modules, ','.join(a.scenario_names()))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    torch_loaded, recsim_loaded, names = out.stdout.split()
    assert (torch_loaded, recsim_loaded) == ("False", "False")

    import recsim_marl

    assert names.split(",") == list(recsim_marl.SCENARIOS) and "retention" in names
    commands = dict(_subparsers(build_parser()))
    for name in ("demo", "train mappo", "train iql"):
        text = " ".join(commands[name].format_help().split())
        assert all(s in text for s in recsim_marl.SCENARIOS), (name, text)


@pytest.mark.parametrize("algorithm", sorted(LEARNERS))
def test_train_called_from_python_raises_value_error_naming_the_flag(algorithm, tmp_path):
    import importlib

    mod = importlib.import_module(f"agents.{algorithm}")
    bad = {"num_envs": 0} if algorithm == "mappo" else {"batch_size": 0}
    with pytest.raises(ValueError, match=f"--{next(iter(bad)).replace('_', '-')} must be >= 1; got 0"):
        mod.train(mod.Args(log_dir=str(tmp_path), **bad))
    args = mod.Args(log_dir=str(tmp_path))
    args.gamma = 2.0  # changed after construction: still refused when training starts
    with pytest.raises(ValueError, match=r"--gamma must be in \[0, 1\]; got 2.0"):
        mod.train(args)
    assert not any(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize("override, says", [
    ("num_users=3x", "config field num_users takes an int"),
    ("num_userz=3", "unknown config field 'num_userz' (did you mean 'num_users'?)"),
    ("retrieval_noise=lots", "config field retrieval_noise takes a number"),
    ("num_users", "--env takes KEY=VALUE"),
])
def test_an_env_override_is_read_as_its_config_fields_type_or_refused_naming_it(override, says, capsys, monkeypatch):
    from agents import cli

    monkeypatch.setattr(cli, "_module", lambda algorithm: pytest.fail("reached the learner"))
    with pytest.raises(SystemExit) as exit_:  # argparse's own exit: usage line, then the error
        cli.main(["train", "mappo", "--env", override])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Traceback" not in err and says in err, err
    assert cli._parse_override("catalog_seed=none") == ("catalog_seed", None)
    assert cli._parse_override("num_users = 32") == ("num_users", 32)
