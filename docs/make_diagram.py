"""Draw docs/agent_loop.png: what the agents of recsim_marl see, do and earn in one step.

The sizes are read from ``recsim_marl.observation_layout`` of the scenario, not typed in:
``python docs/make_diagram.py [scenario]`` (default: ``default``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

import recsim_marl  # noqa: E402


def width(layout, name: str) -> int:
    sl = layout[name]
    return sl.stop - sl.start


OUT = Path(__file__).with_name("agent_loop.png")


def main(scenario: str = "default", out: str | Path = OUT) -> Path:
    c = recsim_marl.make_config(scenario)
    lay = recsim_marl.observation_layout(c)
    u, i = lay["users"], lay["items"]
    per_cand = width(u, "candidate_content") // c.num_candidates + 5
    fig, ax = plt.subplots(figsize=(11, 6.6))
    ax.set_xlim(0, 11)
    ax.set_ylim(-0.1, 6.5)
    ax.axis("off")

    def box(x, y, w, h, text, color):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, ec="black", lw=1))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8.5, wrap=True)

    def arrow(x0, y0, x1, y1, text="", dy=0.12):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=14, lw=1.2))
        if text:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + dy, text, ha="center", va="bottom", fontsize=7.5)

    ax.text(5.5, 6.3, f"one step of recsim_marl, scenario '{scenario}': {c.num_users} people, {c.num_items} items, "
            f"K = {c.num_candidates} candidates, D = {c.embed_dim}", ha="center", fontsize=10, weight="bold")
    box(0.2, 3.3, 3.2, 2.3,
        f"user agent  user_0 .. user_{c.num_users - 1}\n(one personal recommender per person)\n\n"
        f"observation: {u.size} numbers\n"
        f"estimate of interest ({width(u, 'estimate')}), history ({width(u, 'history')}),\n"
        f"{c.num_candidates} candidates x {per_cand} (content {c.embed_dim},\nrelevance, familiarity, rating, "
        f"promotion,\npopularity, CTR, length), progress,\nclick rate, present, time away", "#dbe9f6")
    box(0.2, 0.3, 3.2, 2.3,
        f"item agent  item_0 .. item_{c.num_items - 1}\n(one provider per item)\n\n"
        f"observation: {i.size} numbers\ncontent ({width(i, 'content')}), funds, level,\n"
        "impression share, ctr,\nmean promotion, time", "#fde2c8")
    box(4.4, 3.6, 2.4, 1.7, f"action: which of the\n{c.num_candidates} candidates to recommend\n(0..{c.num_candidates - 1})"
        "\n\naction_mask: all allowed\n(only 0 while the person\nis away or gone)", "#eef5e9")
    box(4.4, 0.6, 2.4, 1.7, f"action: promotion level\n0..{c.num_levels - 1} (0 = none)\n\naction_mask: levels the\n"
        "funds cannot pay are False", "#eef5e9")
    box(7.8, 2.0, 3.0, 2.2, "the platform and its people\n(not agents)\n\nthe person clicks or not, is\n"
        "satisfied or not, drifts, gets\nbored, loses trust, spends budget,\nleaves or comes back;\nretrieval picks the next K\n"
        "candidates (promotion raises scores)", "#f0f0f0")
    arrow(3.45, 4.45, 4.35, 4.45)
    arrow(3.45, 1.45, 4.35, 1.45)
    arrow(6.85, 4.45, 7.75, 3.7, "recommend")
    arrow(6.85, 1.45, 7.75, 2.5, "promote")
    def route(points, text, ty):
        xs, ys = zip(*points)
        ax.plot(xs[:-1], ys[:-1], color="black", lw=1.2)
        arrow(xs[-2], ys[-2], xs[-1], ys[-1])
        ax.text(5.5, ty, text, ha="center", va="center", fontsize=8, style="italic",
                bbox=dict(fc="white", ec="none", pad=1))

    route([(9.3, 4.25), (9.3, 5.9), (1.8, 5.9), (1.8, 5.68)],
          "reward of a user agent: its person's engagement (time spent with the item)", 5.9)
    route([(9.3, 1.95), (9.3, 0.02), (1.8, 0.02), (1.8, 0.22)],
          "reward of an item agent: clicks x value - promotion spend", 0.02)
    ax.text(3.8, 3.0, "obs, rewards, terminations, truncations, infos = env.step(actions)\n"
            "actions = {agent name: int};  infos[agent]['action_mask']", ha="center", va="center",
            fontsize=7.5, family="monospace")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return Path(out)


if __name__ == "__main__":
    print(main(*sys.argv[1:2]))
