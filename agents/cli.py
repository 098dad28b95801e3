"""recsim-marl: a two-sided recommender simulator for multi-agent RL.

Commands: 'recsim-marl demo' (a world with real text embeddings, baseline metrics),
'recsim-marl train {iql,mappo} ...' (train learners on the vectorized core) and
'recsim-marl evaluate --checkpoint PATH' (a trained checkpoint against greedy and random).

Building the parser imports no torch: heavy modules are imported inside the commands, so --help and
argument errors answer at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

DEMO_METRICS = {  # column header: (metric of agents.policy.evaluate, what it means)
    "return": ("user_return", "mean summed engagement per person over the episode (the users' reward)"),
    "ctr": ("ctr", "clicks per recommendation shown to a person still present"),
    "churn": ("churn", "share of people not present at the end: left (ran out of budget) or away between visits"),
    "ndcg@1": ("pick_ndcg", "true (hidden) affinity of the pick against the best candidate's (NDCG@1; of a slate: NDCG@S), 0..1"),
    "f1": ("f1", "F1 of precision and recall: recommended items vs each person's truly relevant items"),
    "coverage": ("coverage", "share of the catalogue recommended to someone at least once"),
    "gini": ("exposure_gini", "inequality of recommendations over items: 0 equal, 1 one item gets all"),
    "profit": ("provider_profit", "provider profit per item: v x clicks - promotion spend"),
}

DEMO_LEGEND = "\n".join(
    ["columns (mean ± std over the episodes):"]
    + [f"  {head:<10}{what}" for head, (_, what) in DEMO_METRICS.items()]
)


def format_table(rows: dict[str, dict[str, tuple[float, float]]], metrics: dict = DEMO_METRICS) -> str:
    """Policies by metrics, ``mean±std`` per cell; the longest policy name (at least 14) + 1, then 10 per
    metric characters wide (99 for the demo's 8 and "farsighted oracle*")."""
    width = max([14, *map(len, rows)]) + 1
    head = f"{'policy':<{width}}" + "".join(f"{m:>10}" for m in metrics)
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        lines.append(f"{name:<{width}}" + "".join(f"{_cell(*r[key]):>10}" for key, _ in metrics.values()))
    return "\n".join(lines)


def tables(rows: dict[str, dict[str, tuple[float, float]]]) -> str:
    """The metrics table and its legend, and with slates (rows that have ``no_click``) the slate's own:
    the no-click rate, the click-through rate by position, precision@S and recall@S."""
    out = [format_table(rows), DEMO_LEGEND]
    first = next(iter(rows.values()))
    if "no_click" in first:
        s = sum(key.startswith("ctr_slot") for key in first)
        columns = {"no-click": "no_click", **{f"ctr@{k}": f"ctr_slot{k}" for k in range(1, s + 1)},
                   f"p@{s}": "precision", f"r@{s}": "recall"}
        legend = {"no-click": "share of slates shown from which the person chose nothing",
                  "ctr@k": f"choices from slot k / slates showing an item there (k = 1..{s})",
                  f"p@{s}": "relevant items on the slate / S",
                  f"r@{s}": "relevant items on the slate / min(S, relevant items in the catalogue)"}
        out += ["", "the slate:", format_table(rows, {head: (key, "") for head, key in columns.items()}),
                "\n".join(f"  {head:<10}{what}" for head, what in legend.items())]
    return "\n".join(out)


def _cell(mean: float, std: float) -> str:
    """``mean±std`` in at most 9 characters: two decimals, fewer for large numbers (the mean alone
    when even that does not fit)."""
    for digits in (2, 1, 0):
        text = f"{mean:.{digits}f}±{std:.{digits}f}"
        if len(text) <= 9:
            return text
    return f"{mean:.3g}"


def check_flags(args: argparse.Namespace, **checks) -> None:
    """Refuse a flag's value outside its range (an ``agents.args`` check) with a ValueError that names
    the flag, the value and what is allowed, as :func:`agents.args.validate` does for the learners'."""
    from agents.args import check_value

    for name, check in checks.items():
        check_value(name, getattr(args, name), check)


def demo(args: argparse.Namespace) -> int:
    from agents.args import SCENARIO, at_least

    check_flags(args, scenario=SCENARIO, episodes=at_least(1), seed=at_least(0))
    import recsim_marl
    from agents.baselines import FixedLevelPolicy, GreedyPolicy, user_baselines
    from agents.evaluation import evaluate
    from agents.policy import DictPolicy
    from recsim_marl.embeddings import CacheStats, default_cache_dir
    from recsim_marl.embeddings.cache import BLOCK

    t0 = time.perf_counter()
    env = recsim_marl.parallel_env(scenario=args.scenario, render_mode="ansi")
    c = env.config
    print(f"scenario {c.scenario!r}: {c.num_users} people x {c.num_items} items, K={c.num_candidates}, D={c.embed_dim}")
    print(f"texts encoded by {c.encoder} (transformers, mean pooling), PCA to {c.embed_dim} dims; "
          f"cache {default_cache_dir() if c.cache_dir is None else c.cache_dir}: "
          f"{CacheStats.hits} block(s) of up to {BLOCK} texts read, {CacheStats.misses} encoded, in {time.perf_counter() - t0:.1f}s")
    print(f"example item: {env.unwrapped._core.world.catalog.item_texts[0]!r}")
    print(f"example person: {env.unwrapped._core.world.catalog.user_texts[0]!r}\n")

    # one episode through the PettingZoo API with greedy recommenders and unpromoted items
    policy = DictPolicy(env, {"users": GreedyPolicy(c), "items": FixedLevelPolicy(0)})
    obs, infos = env.reset(seed=args.seed)
    total, steps = 0.0, 0
    while env.agents:
        obs, rew, term, trunc, infos = env.step(policy(obs, infos))
        total += sum(r for a, r in rew.items() if a.startswith("user_"))
        steps += 1
    print(f"one PettingZoo episode, greedy users: {steps} steps, mean user return {total / c.num_users:.3f}")
    print(env.render())
    print("budget: each step costs a person 1 unit and satisfying clicks give some back; a person leaves\n"
          "when the budget falls below 0, so people who left show the negative budget they left with.\n")

    users = user_baselines(c, seed=args.seed)
    print(f"evaluating {len(users)} baselines over {args.episodes} episodes each:", flush=True)
    rows = {}
    for j, (name, p) in enumerate(users.items(), 1):
        t = time.perf_counter()
        rows[name] = evaluate(c, {"users": p, "items": FixedLevelPolicy(0)}, episodes=args.episodes, seed=args.seed)
        print(f"  {j}/{len(users)} {name}: {time.perf_counter() - t:.0f}s", flush=True)
    print(f"\nbaselines over {args.episodes} episodes (seeds {args.seed}..{args.seed + args.episodes - 1}), "
          "items not promoting:")
    print(tables(rows))
    print("* privileged: reads the hidden interest and boredom (a reference, not a platform policy);\n"
          "  the myopic oracle* looks one step ahead only")
    return 0


from agents.args import LEARNERS as ALGORITHMS  # noqa: E402  (no torch: the parser stays light)
from agents.args import learner_args as _args_class  # noqa: E402
from agents.args import learner_module as _module  # noqa: E402


def plain(text: str) -> str:
    """A docstring as one line of plain text (reST double backticks dropped, whitespace collapsed)."""
    return " ".join(text.replace("``", "").split())


def field_docs(cls) -> dict[str, str]:
    """Each field's help text (``agents.args.option`` keeps it in the field's metadata)."""
    return {f.name: plain(f.metadata.get("help", "")) for f in dataclasses.fields(cls)}


def _parse_override(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` of ``--env``: VALUE read as the type of config field KEY (an int, a number, a word,
    ``none`` where the field may be unset); an unknown KEY or a VALUE of the wrong type is refused naming
    both."""
    import difflib

    from agents.args import config_module

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--env takes KEY=VALUE (a config field and its value), got {text!r}")
    key, value = (part.strip() for part in text.split("=", 1))
    types = {f.name: str(f.type) for f in dataclasses.fields(config_module().EnvConfig)}
    if key not in types:
        close = difflib.get_close_matches(key, types, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise argparse.ArgumentTypeError(f"--env {text!r}: unknown config field {key!r}{hint}")
    tp = types[key]
    if "None" in tp and value.lower() == "none":
        return key, None
    if tp.startswith("tuple"):
        raise argparse.ArgumentTypeError(f"--env {key}: a list of texts cannot be given on the command line; "
                                         "use recsim_marl.make_config(..., item_texts=[...]) from Python")
    try:
        return key, int(value) if tp.startswith("int") else float(value) if tp.startswith("float") else value
    except ValueError:
        kind = "an int" if tp.startswith("int") else "a number"
        raise argparse.ArgumentTypeError(f"--env {key}={value!r}: config field {key} takes {kind}") from None


def _optional(inner):
    """``int | None`` and the like: the inner type, or 'none' for None."""

    def parse(text: str):
        return None if text.strip().lower() == "none" else inner(text)

    parse.__name__ = f"{inner.__name__} or none"
    return parse


def field_kind(tp) -> tuple[type, bool]:
    """``(base type, optional)`` of a field's resolved type hint: bool, int, float, str or dict,
    optionally ``| None``. Anything else is refused (a new field needs a parser here)."""
    import types
    import typing

    optional = False
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        parts = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(parts) < len(typing.get_args(tp))
        if len(parts) != 1:
            raise TypeError(f"cannot build a flag for type {tp!r}")
        tp = parts[0]
    tp = typing.get_origin(tp) or tp
    if tp not in (bool, int, float, str, dict):
        raise TypeError(f"cannot build a flag for type {tp!r}: use bool, int, float, str, dict or X | None")
    return tp, optional


def add_args_flags(parser: argparse.ArgumentParser, args_cls) -> None:
    """One flag per field of a learner's Args dataclass (--total-steps, --value-norm/--no-value-norm, ...),
    typed by the field's annotation and described by its docstring."""
    import dataclasses
    import typing

    docs = field_docs(args_cls)
    hints = typing.get_type_hints(args_cls)
    for f in dataclasses.fields(args_cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        tp, optional = field_kind(hints[f.name])
        doc = docs.get(f.name, "").replace("%", "%%")
        check = f.metadata.get("check")
        allowed = "" if check is None else check.allowed.replace("%", "%%") + "; "  # the range beside the field
        if tp is dict:
            parser.add_argument(flag, action="append", type=_parse_override, default=[], metavar="KEY=VALUE",
                                help=doc)
        elif tp is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=f"{doc} (default: {default})")
        else:
            shown = "unset" if default is None else default
            parser.add_argument(flag, type=_optional(tp) if optional else tp, default=default,
                                metavar=("N" if tp is int else "X" if tp is float else "TEXT") + ("|none" if optional else ""),
                                help=f"{doc} ({allowed}default: {shown})")


def args_from_namespace(args_cls, ns: argparse.Namespace):
    import dataclasses

    values = {f.name: getattr(ns, f.name) for f in dataclasses.fields(args_cls)}
    values["env"] = dict(values.get("env") or [])
    return args_cls(**values)


def train_cmd(args: argparse.Namespace) -> int:
    from agents.args import validate

    train_args = validate(args_from_namespace(_args_class(args.algorithm), args))  # before torch is imported

    import recsim_marl

    mod = _module(args.algorithm)
    recsim_marl.make_config(train_args.scenario, **train_args.env)  # fail fast on a bad scenario or key
    result = mod.train(train_args)
    print(f"log dir: {result['log_dir']}\ncheckpoint: {result['checkpoint']}")
    if "eval" in result:
        if "plot" in result:
            print(f"learning curve: {result['plot']}")
        print(tables({args.algorithm: result["eval"]}))
    return 0


def evaluate_cmd(args: argparse.Namespace) -> int:
    from agents.args import at_least

    check_flags(args, episodes=at_least(1), seed=at_least(0))
    import recsim_marl
    from agents.baselines import GreedyPolicy, RandomPolicy, scripted_policy
    from agents.checkpoint import load_checkpoint
    from agents.evaluation import evaluate
    from agents.run import learned_groups

    ck = load_checkpoint(args.checkpoint)
    algorithm = ck.get("algorithm")
    if algorithm not in ALGORITHMS:
        raise SystemExit(f"checkpoint {args.checkpoint} was written by unknown algorithm {algorithm!r}")
    mod = _module(algorithm)
    train_args = mod.Args(**ck["args"])
    config = recsim_marl.make_config(train_args.scenario, **train_args.env)
    if args.split is not None:
        config = config.replace(split=args.split)
    else:  # held-out worlds: the test split of a synthetic world
        from recsim_marl.protocol import held_out

        config = held_out(config)
    groups = learned_groups(train_args.learn)
    policies = {}
    for g in ("users", "items"):
        if g in groups:
            policies[g] = mod.load_policy(args.checkpoint, g)
        else:
            policies[g] = scripted_policy(train_args.users_policy if g == "users" else train_args.items_policy, config, g)
    runs = {algorithm: policies}
    if "users" in groups:
        runs["greedy"] = {**policies, "users": GreedyPolicy(config)}
        runs["random"] = {**policies, "users": RandomPolicy(config.num_candidates, slate_size=config.slate_size)}
    print(f"{train_args.scenario}, split {config.split!r}: {args.episodes} episodes from seed {args.seed}", flush=True)
    rows = {}
    for j, (name, pols) in enumerate(runs.items(), 1):
        t = time.perf_counter()
        rows[name] = evaluate(config, pols, episodes=args.episodes, seed=args.seed)
        print(f"  {j}/{len(runs)} {name}: {time.perf_counter() - t:.0f}s", flush=True)
    print(tables(rows))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; imports neither torch nor the simulator."""
    from agents.args import light_module, scenario_names

    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog="recsim-marl", description=__doc__.split("\n\nBuilding")[0], formatter_class=fmt)
    sub = p.add_subparsers(dest="command", required=True, metavar="{demo,train,evaluate}")
    d = sub.add_parser("demo", help="build a world with real MiniLM embeddings, run baselines, print metrics",
                       description="Build a world with real MiniLM text embeddings, play one PettingZoo episode "
                                   "with greedy recommenders, render it, and print the baselines' metrics.")
    d.add_argument("--scenario", default="default",
                   help=f"scenario, a name in recsim_marl.SCENARIOS: {', '.join(scenario_names())} (default: default)")
    d.add_argument("--episodes", type=int, default=5, help="episodes per baseline (>= 1; default: 5)")
    d.add_argument("--seed", type=int, default=0, help="seed of the first episode (>= 0; default: 0)")
    d.set_defaults(func=demo)
    t = sub.add_parser("train", help="train a learner on the vectorized core",
                       description="Train IQL or MAPPO on the vectorized core; 'recsim-marl train mappo --help' "
                                   "lists every option.")
    tsub = t.add_subparsers(dest="algorithm", required=True, metavar="{" + ",".join(ALGORITHMS) + "}")
    for name in ALGORITHMS:
        cls = _args_class(name)
        a = tsub.add_parser(name, help=f"train {name.upper()}", description=plain(cls.__doc__ or ""))
        add_args_flags(a, cls)
        a.set_defaults(func=train_cmd, algorithm=name)
    e = sub.add_parser("evaluate", help="evaluate a checkpoint against greedy and random",
                       description="Evaluate a trained checkpoint's learned groups (scripted groups as in "
                                   "training) and, when users were learned, greedy and random users.")
    e.add_argument("--checkpoint", required=True, metavar="PATH",
                   help="checkpoint.pt of a run (only load checkpoints you made or trust)")
    e.add_argument("--episodes", type=int, default=10, help="episodes per policy (>= 1; default: 10)")
    e.add_argument("--split", choices=("train", "validation", "test"), default=None,
                   help="worlds to evaluate on (default: the test split, held-out worlds, for synthetic and MovieLens "
                        "worlds; a custom catalogue has one)")
    held_out = light_module("protocol").EVAL_SEED
    e.add_argument("--seed", type=int, default=held_out,
                   help=f"seed of the first episode; training and tuning never see seeds from {held_out} on "
                        f"(recsim_marl.protocol; >= 0; default: {held_out})")
    e.set_defaults(func=evaluate_cmd)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, KeyError) as exc:  # bad config, checkpoint or flag value: say it plainly
        print(f"recsim-marl: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
