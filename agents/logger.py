"""What a run writes while it learns: TensorBoard scalars, ``scalars.csv`` and ``learning_curve.png``.

Tags (one set per learned group ``G``, ``users`` or ``items``, as BenchMARL does):

- ``charts/G/episodic_return``: mean return of the episodes that ended at that step (per person for
  users, profit per item for items);
- ``charts/G/rolling_return``: the rewards of the last ``max_cycles`` env steps summed (mean over
  the group's agents, people who left count 0). The envs of a run start together, so that window holds
  each step of an episode once: it is a return, measured every step instead of once per episode;
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
        """One panel per group: the rolling return (line), the episodes' returns (dots), the scripted
        baselines as dashed lines (``references[g] = {name: (mean, std)}``) and the final evaluation
        (``final[g] = (step, mean, std)``) as a marked point with its spread."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path = Path(path) if path else self.dir / "learning_curve.png"
        fig, axes = plt.subplots(1, len(groups), figsize=(6.4 * len(groups), 4.2), squeeze=False)
        colors = ["tab:red", "tab:gray", "tab:green", "tab:purple"]
        for ax, g in zip(axes[0], groups):
            roll = self.curve(f"charts/{g}/rolling_return")
            eps = self.curve(f"charts/{g}/episodic_return")
            if roll:
                ax.plot([p[0] for p in roll], [p[1] for p in roll], color="tab:blue", linewidth=1.2,
                        label="training: return over the last episode-length window")
            if eps:
                ax.plot([p[0] for p in eps], [p[1] for p in eps], "o", color="tab:blue", markersize=3,
                        alpha=0.6, label="training: episodes that ended")
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
    written by :meth:`flush` as ``charts/G/episodic_return`` and ``charts/G/rolling_return``."""

    def __init__(self, groups, window: int, device):
        self.groups, self.window = tuple(groups), window
        self.hist = {g: torch.zeros(window, device=device) for g in self.groups}
        self.ptr, self.count = 0, 0
        self.pending: list[tuple[int, dict]] = []
        self.last = {g: float("nan") for g in self.groups}

    def step(self, global_step: int, rew: dict, info: dict) -> None:
        done = info["done"]
        rec = {}
        for g in self.groups:
            self.hist[g][self.ptr] = rew[g].mean()
            ret = info["episode"][RETURN_KEYS[g]]
            rec[g] = torch.stack([(ret * done).sum(), done.sum().to(ret.dtype), self.hist[g].sum()])
        self.ptr = (self.ptr + 1) % self.window
        self.count += 1
        self.pending.append((global_step, rec, self.count >= self.window))

    def flush(self, logger: RunLogger) -> None:
        """Log what accumulated since the last flush (one host transfer)."""
        if not self.pending:
            return
        vals = torch.stack([torch.stack([r[g] for g in self.groups]) for _, r, _ in self.pending]).tolist()
        rows = []
        for (step, _, full), per_group in zip(self.pending, vals):
            for g, (s, n, roll) in zip(self.groups, per_group):
                if n > 0:
                    self.last[g] = s / n
                    rows.append((f"charts/{g}/episodic_return", s / n, step))
                if full:
                    rows.append((f"charts/{g}/rolling_return", roll, step))
        self.pending = []
        logger.scalars(rows)

    def state_dict(self) -> dict:
        return {"hist": {g: h.cpu() for g, h in self.hist.items()}, "ptr": self.ptr, "count": self.count,
                "last": dict(self.last)}

    def load_state_dict(self, st: dict) -> None:
        for g in self.groups:
            self.hist[g].copy_(st["hist"][g])
        self.ptr, self.count, self.last = st["ptr"], st["count"], dict(st["last"])
