"""What a run writes while it learns: TensorBoard scalars, ``scalars.csv`` and ``learning_curve.png``.

Tags (one set per learned group ``G``, ``users`` or ``items``, as BenchMARL does):

- ``charts/G/episodic_return``: mean return of the episodes that ended at that step (per person for
  users, profit per item for items); logged at every step where an episode ended, so a run has as
  many points as distinct episode ends;
- ``charts/G/reward``: the group's mean reward per agent at every step (people who left count 0);
- ``charts/SPS`` and ``losses/...``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch

RETURN_KEYS = {"users": "user_return", "items": "item_return"}
YLABELS = {"users": "mean return per person", "items": "mean profit per item"}


class RunLogger:
    """TensorBoard + CSV scalars in ``log_dir``; a learning-curve PNG with one panel per learned group."""

    def __init__(self, log_dir: str | Path, resume_step: int | None = None, tensorboard: bool = True):
        self.dir = Path(log_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.dir / "scalars.csv"
        rows = []
        if resume_step is not None and self.csv_path.exists():  # keep what was logged up to the checkpoint
            with open(self.csv_path) as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        with open(self.csv_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["step", "tag", "value"])
            w.writeheader()
            w.writerows(rows)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.dir), purge_step=resume_step)

    def scalars(self, rows: list[tuple[str, float, int]]) -> None:
        """Log ``(tag, value, step)`` rows."""
        with open(self.csv_path, "a", newline="") as f:
            w = csv.writer(f)
            for tag, value, step in rows:
                w.writerow([step, tag, float(value)])
                if self.writer is not None:
                    self.writer.add_scalar(tag, float(value), step)

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.scalars([(tag, value, step)])

    def curve(self, tag: str) -> list[tuple[int, float]]:
        with open(self.csv_path) as f:
            return [(int(r["step"]), float(r["value"])) for r in csv.DictReader(f) if r["tag"] == tag]

    def plot(self, title: str, groups, references: dict | None = None, final: dict | None = None,
             path: str | Path | None = None) -> Path:
        """One panel per group: the training episodes' returns (dots, and their running mean), the scripted
        baselines as dashed lines (``references[g] = {name: (mean, std)}``) and the final evaluation
        (``final[g] = (step, mean, std)``) as a marked point with its spread."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path = Path(path) if path else self.dir / "learning_curve.png"
        fig, axes = plt.subplots(1, len(groups), figsize=(6.4 * len(groups), 4.2), squeeze=False)
        colors = ["tab:red", "tab:gray", "tab:green", "tab:purple"]
        for ax, g in zip(axes[0], groups):
            eps = self.curve(f"charts/{g}/episodic_return")
            if eps:
                x, y = [p[0] for p in eps], [p[1] for p in eps]
                ax.plot(x, y, "o", color="tab:blue", markersize=3, alpha=0.5, label="training episodes (stochastic policy)")
                k = max(1, min(10, len(y) // 5))
                smooth = [sum(y[max(0, j - k + 1):j + 1]) / len(y[max(0, j - k + 1):j + 1]) for j in range(len(y))]
                ax.plot(x, smooth, color="tab:blue", linewidth=1.4, label=f"mean of the last {k} points")
            for (name, (mean, _)), color in zip((references or {}).get(g, {}).items(), colors):
                ax.axhline(mean, linestyle="--", linewidth=1, color=color, label=f"{name} (evaluated)")
            if final and g in final:
                step, mean, std = final[g]
                ax.errorbar([step], [mean], yerr=[std], fmt="*", color="black", markersize=12, capsize=4,
                            label=f"final evaluation: {mean:.2f} ± {std:.2f}")
            ax.set_xlabel("environment steps (all envs)")
            ax.set_ylabel(YLABELS[g])
            ax.set_title(f"{title}: {g}")
            ax.legend(loc="best", fontsize=7)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class ReturnTracker:
    """Per-group returns of a batch of envs, accumulated on the device (no host sync per step) and
    written by :meth:`flush` as ``charts/G/episodic_return`` (every step where episodes ended) and
    ``charts/G/reward`` (every step)."""

    def __init__(self, groups, device):
        self.groups = tuple(groups)
        self.pending: list[tuple[int, torch.Tensor]] = []
        self.last = {g: float("nan") for g in self.groups}

    def step(self, global_step: int, rew: dict, info: dict) -> None:
        done = info["done"]
        rows = []
        for g in self.groups:
            ret = info["episode"][RETURN_KEYS[g]]
            rows.append(torch.stack([(ret * done).sum(), done.sum().to(ret.dtype), rew[g].mean()]))
        self.pending.append((global_step, torch.stack(rows)))

    def flush(self, logger: RunLogger) -> None:
        """Log what accumulated since the last flush (one host transfer)."""
        if not self.pending:
            return
        vals = torch.stack([v for _, v in self.pending]).tolist()
        rows = []
        for (step, _), per_group in zip(self.pending, vals):
            for g, (s, n, r) in zip(self.groups, per_group):
                if n > 0:
                    self.last[g] = s / n
                    rows.append((f"charts/{g}/episodic_return", s / n, step))
                rows.append((f"charts/{g}/reward", r, step))
        self.pending = []
        logger.scalars(rows)

    def state_dict(self) -> dict:
        return {"last": dict(self.last)}

    def load_state_dict(self, st: dict) -> None:
        self.last = dict(st["last"])
