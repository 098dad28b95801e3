"""Draw docs/dynamics.png: one person of `retention` over an episode, under the myopic oracle and the
farsighted oracle (same world, same seed; items do not promote, so trust stays full). Panels: budget
(blank while away), visits started, satisfaction memory, boredom toward what they could be shown, and
the engagement collected so far; plus the share of everyone present.

    python docs/make_dynamics.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import recsim_marl  # noqa: E402
from agents.baselines import FarsightedOraclePolicy, FixedLevelPolicy, MyopicOraclePolicy  # noqa: E402

PERSON, SEED = 0, 50_000


def trace(policy_cls) -> dict:
    venv = recsim_marl.make_vec(1, scenario="retention")
    c = venv.config
    policy = policy_cls(c)
    policy.bind(venv)
    items = FixedLevelPolicy(0)
    obs = venv.reset(seed=SEED)
    rows = {k: [] for k in ("budget", "visits", "memory", "boredom", "engagement", "everyone")}
    total = 0.0
    for _ in range(c.max_cycles):
        s = venv.current
        p = PERSON
        e_rec = venv.catalogue.content[0, s.candidates[0, p]]  # what they could be shown now
        rows["budget"].append(float(s.budget[0, p]) if bool(s.present[0, p]) else float("nan"))
        rows["visits"].append(float(s.visits[0, p]))
        rows["memory"].append(float(s.memory[0, p]))
        rows["boredom"].append(float((e_rec @ s.boredom[0, p]).mean()))
        rows["everyone"].append(float(s.present[0].float().mean()))
        acts = {"users": policy.act(obs["users"], obs["action_mask"]["users"]),
                "items": items.act(obs["items"], obs["action_mask"]["items"])}
        obs, rew, _, _, info = venv.step(acts)
        total += float(rew["users"][0, p])
        rows["engagement"].append(total)
        if bool(info["done"].all()):
            break
    return rows


def main(out: str = "docs/dynamics.png") -> Path:
    runs = {"myopic oracle*": trace(MyopicOraclePolicy), "farsighted oracle*": trace(FarsightedOraclePolicy)}
    panels = [("budget", "budget (blank: away)"), ("memory", "satisfaction memory m"),
              ("boredom", "boredom toward the candidates"), ("visits", "visits started"),
              ("engagement", "engagement so far (this person)"), ("everyone", "share of all people present")]
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.2), sharex=True)
    for ax, (key, title) in zip(axes.flat, panels):
        for (name, rows), colour in zip(runs.items(), ("tab:red", "tab:blue")):
            ax.plot(rows[key], color=colour, lw=1.3, label=name)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("step")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"retention, person {PERSON}, seed {SEED}: the myopic oracle's picks hold attention now and keep "
                 "people away later", fontsize=11)
    fig.tight_layout()
    path = Path(out)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
