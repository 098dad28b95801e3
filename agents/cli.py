"""Command line: ``recsim-marl demo``, ``recsim-marl train {iql,mappo} ...``, ``recsim-marl evaluate --checkpoint ...``."""

from __future__ import annotations

import argparse
import sys
import time

import recsim_marl
from agents.baselines import FixedLevelPolicy, GreedyPolicy, RandomPolicy, user_baselines
from agents.policy import DictPolicy, evaluate
from recsim_marl.embeddings import CacheStats, default_cache_dir

DEMO_METRICS = ("user_return", "ctr", "churn", "ndcg", "coverage", "exposure_gini", "provider_profit", "f1")


def format_table(rows: dict[str, dict[str, tuple[float, float]]], metrics=DEMO_METRICS) -> str:
    head = f"{'policy':<15}" + "".join(f"{m:>18}" for m in metrics)
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        lines.append(f"{name:<15}" + "".join(f"{r[m][0]:>11.3f} ±{r[m][1]:>5.2f}" for m in metrics))
    return "\n".join(lines)


def demo(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    env = recsim_marl.parallel_env(scenario=args.scenario, render_mode="ansi")
    c = env.config
    print(f"scenario {c.scenario!r}: {c.num_users} people x {c.num_items} items, K={c.num_candidates}, D={c.embed_dim}")
    print(f"texts encoded by {c.encoder} (transformers, mean pooling), PCA to {c.embed_dim} dims; "
          f"cache {default_cache_dir() if c.cache_dir is None else c.cache_dir}: "
          f"{CacheStats.hits} hit(s), {CacheStats.misses} encoded, in {time.perf_counter() - t0:.1f}s")
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
    print(env.render(), "\n")

    users = user_baselines(c, seed=args.seed)
    rows = {
        name: evaluate(c, {"users": p, "items": FixedLevelPolicy(0)}, episodes=args.episodes, seed=args.seed)
        for name, p in users.items()
    }
    print(f"baselines over {args.episodes} episodes (seeds {args.seed}..{args.seed + args.episodes - 1}), "
          "items not promoting; mean ± std per episode:")
    print(format_table(rows))
    print("* privileged: reads the hidden interest and boredom (a reference, not a platform policy; it looks one step ahead)")
    return 0


ALGORITHMS = {"iql": "agents.iql", "mappo": "agents.mappo"}


def _module(algorithm: str):
    import importlib

    return importlib.import_module(ALGORITHMS[algorithm])


def _parse_override(text: str) -> tuple[str, object]:
    import ast

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--env takes KEY=VALUE (a config field and its value), got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def field_docs(cls) -> dict[str, str]:
    """The docstring under each field of a dataclass (CleanRL-style ``Args``), read from its source."""
    import ast
    import dataclasses
    import inspect
    import textwrap

    docs = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):  # subclasses win
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        for node, nxt in zip(body, body[1:]):
            if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs


def _add_args_flags(parser: argparse.ArgumentParser, args_cls) -> None:
    """One flag per field of a learner's Args dataclass (--total-steps, --no-value-norm, ...)."""
    import dataclasses

    docs = field_docs(args_cls)
    for f in dataclasses.fields(args_cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        doc = docs.get(f.name, "").replace("%", "%%") + ("" if default is None else f" (default: {default})")
        if f.name == "env":
            parser.add_argument(flag, action="append", type=_parse_override, default=[], metavar="KEY=VALUE",
                                help="config override of the scenario (repeatable), e.g. --env num_users=32")
        elif isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=doc)
        elif default is None:
            parser.add_argument(flag, type=int, default=None, help=doc)
        else:
            parser.add_argument(flag, type=type(default), default=default, help=doc)


def train_cmd(args: argparse.Namespace) -> int:
    import dataclasses

    mod = _module(args.algorithm)
    names = {f.name for f in dataclasses.fields(mod.Args)}
    values = {k: v for k, v in vars(args).items() if k in names}
    values["env"] = dict(values.get("env") or [])
    recsim_marl.make_config(values["scenario"], **values["env"])  # fail fast on a bad scenario or key
    result = mod.train(mod.Args(**values))
    print(f"log dir: {result['log_dir']}\ncheckpoint: {result['checkpoint']}")
    if "eval" in result:
        print(f"learning curve: {result['plot']}")
        print(format_table({args.algorithm: result["eval"]}))
    return 0


def evaluate_cmd(args: argparse.Namespace) -> int:
    from agents.common import learned_groups, load_checkpoint, scripted_policy

    ck = load_checkpoint(args.checkpoint)
    algorithm = ck.get("algorithm")
    if algorithm not in ALGORITHMS:
        raise SystemExit(f"checkpoint {args.checkpoint} was written by unknown algorithm {algorithm!r}")
    mod = _module(algorithm)
    train_args = mod.Args(**ck["args"])
    config = recsim_marl.make_config(train_args.scenario, **train_args.env)
    groups = learned_groups(train_args.learn)
    policies = {}
    for g in ("users", "items"):
        if g in groups:
            policies[g] = mod.load_policy(args.checkpoint, g)
        else:
            policies[g] = scripted_policy(train_args.users_policy if g == "users" else train_args.items_policy, config, g)
    rows = {f"{algorithm}": evaluate(config, policies, episodes=args.episodes, seed=args.seed)}
    if "users" in groups:
        items = policies["items"]
        rows["greedy"] = evaluate(config, {"users": GreedyPolicy(config), "items": items}, episodes=args.episodes, seed=args.seed)
        rows["random"] = evaluate(config, {"users": RandomPolicy(config.num_candidates), "items": items},
                                  episodes=args.episodes, seed=args.seed)
    print(f"{train_args.scenario}: {args.episodes} episodes from seed {args.seed}")
    print(format_table(rows))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="recsim-marl", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a learner on the vectorized core")
    tsub = t.add_subparsers(dest="algorithm", required=True, metavar="{iql,mappo}")
    for name in ALGORITHMS:
        a = tsub.add_parser(name, help=f"train {name.upper()}")
        _add_args_flags(a, _module(name).Args)
        a.set_defaults(func=train_cmd, algorithm=name)
    e = sub.add_parser("evaluate", help="evaluate a checkpoint against greedy and random")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--episodes", type=int, default=10)
    e.add_argument("--seed", type=int, default=10_000)
    e.set_defaults(func=evaluate_cmd)
    d = sub.add_parser("demo", help="build a world with real MiniLM embeddings, run baselines, print metrics")
    d.add_argument("--scenario", default="default", choices=sorted(recsim_marl.SCENARIOS))
    d.add_argument("--episodes", type=int, default=5)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=demo)
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
