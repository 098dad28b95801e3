"""Rendering a world: an ANSI table of the last step and an RGB picture of the content space.

The picture is drawn with matplotlib (axes, legend, title) when it is installed (the ``dev`` extra
has it); without it, an unlabelled numpy drawing of the same points is returned.
"""

from __future__ import annotations

import numpy as np

MAX_ROWS = 16


def ansi_table(titles: list[str], t: int, max_cycles: int, present: np.ndarray, budget: np.ndarray,
               recommended: np.ndarray | None, clicked: np.ndarray | None, levels: np.ndarray | None,
               slate: np.ndarray | None = None, chosen: np.ndarray | None = None,
               in_episode: np.ndarray | None = None) -> str:
    """Who was recommended what, who clicked, budgets; one row per person (the first MAX_ROWS).

    With slates (``slate [U, S]``, -1 where nobody was shown one; ``chosen [U]``, the slot chosen or -1)
    each row lists the slate's item indices in order (- for an empty slot), the chosen one starred, then
    the title of what was chosen (or of the slate's top when nothing was). ``present``: who is on the
    platform now; ``in_episode``: who has not left for good (someone absent but still in the episode is
    marked away, else left)."""
    lines = [f"t={t}/{max_cycles}  people present: {int(present.sum())}/{len(present)}"]
    if levels is not None:
        lines[0] += f"  items promoted: {int((levels > 0).sum())}/{len(levels)}"
    lines.append(f"{'person':>8} {'budget':>7} {'click':>5}  recommended")
    for u in range(min(len(present), MAX_ROWS)):
        if recommended is None:
            rec, clk = "-", "-"
        else:
            rec = f"[{int(recommended[u])}] {titles[int(recommended[u])]}"
            clk = "yes" if clicked[u] else "no"
            if slate is not None:
                if slate[u][0] < 0:
                    rec, clk = "-", "-"
                else:
                    shown = ", ".join(("*" if s == chosen[u] else "") + (str(int(j)) if j >= 0 else "-")
                                      for s, j in enumerate(slate[u]))
                    rec = f"slate [{shown}] {'chose' if chosen[u] >= 0 else 'none chosen; top'} {rec}"
        mark = "" if present[u] else "  (away)" if in_episode is not None and in_episode[u] else "  (left)"
        lines.append(f"{'user_' + str(u):>8} {budget[u]:7.2f} {clk:>5}  {rec}{mark}")
    if len(present) > MAX_ROWS:
        lines.append(f"... {len(present) - MAX_ROWS} more people")
    return "\n".join(lines)


def _disc(img: np.ndarray, x: float, y: float, r: float, color) -> None:
    h, w, _ = img.shape
    x0, x1 = int(max(0, x - r)), int(min(w, x + r + 1))
    y0, y1 = int(max(0, y - r)), int(min(h, y + r + 1))
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = (xx - x) ** 2 + (yy - y) ** 2 <= r * r
    img[y0:y1, x0:x1][inside] = color


def projection_image(content: np.ndarray, interest: np.ndarray, alive: np.ndarray, exposure: np.ndarray,
                     size: int = 400) -> np.ndarray:
    """``[size, size, 3]`` uint8: items (grey, sized by exposure) and people's interests (red; dim when
    gone) on the first two coordinates, which after PCA are the two main axes of content."""
    img = np.full((size, size, 3), 255, dtype=np.uint8)
    pts = np.concatenate([content[:, :2], interest[:, :2]])
    lim = max(float(np.abs(pts).max()), 1e-6) * 1.05

    def to_px(v):
        return (v / lim * 0.5 + 0.5) * (size - 1)

    share = exposure / max(float(exposure.max()), 1e-9)
    for (x, y), s in zip(to_px(content[:, :2]), share):
        _disc(img, x, size - 1 - y, 1.5 + 6.0 * s, (150, 150, 150))
    for (x, y), a in zip(to_px(interest[:, :2]), alive):
        _disc(img, x, size - 1 - y, 3.0, (220, 30, 30) if a else (240, 190, 190))
    return img


def world_picture(content: np.ndarray, interest: np.ndarray, alive: np.ndarray, exposure: np.ndarray,
                  levels: np.ndarray | None = None, num_levels: int = 4, clicked: np.ndarray | None = None,
                  recommended: np.ndarray | None = None, t: int | None = None, max_cycles: int | None = None,
                  size: int = 480) -> np.ndarray:
    """``[size, size, 3]`` uint8: items and people in the first two content dimensions.

    Items are circles sized by their recent exposure and coloured by their promotion level; items
    recommended this step are outlined. People are drawn at their (hidden) interest: a filled triangle
    if they clicked this step, an open one if not, a grey cross once they have left.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError:
        return projection_image(content, interest, alive, exposure, size)
    dpi = 100
    fig = Figure(figsize=(size / dpi, size / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.13, 0.11, 0.84, 0.80))
    share = exposure / max(float(exposure.max()), 1e-9)
    lv = np.zeros(len(content), dtype=int) if levels is None else np.asarray(levels, dtype=int)
    cmap = _level_colours(num_levels)
    ax.scatter(content[:, 0], content[:, 1], s=8 + 120 * share, c=[cmap[v] for v in lv], alpha=0.55,
               linewidths=0, zorder=1)
    if recommended is not None:
        rec = np.unique(np.asarray(recommended)[alive.astype(bool)]) if alive.any() else np.array([], int)
        ax.scatter(content[rec, 0], content[rec, 1], s=8 + 120 * share[rec], facecolors="none",
                   edgecolors="black", linewidths=0.8, zorder=2)
    here = alive.astype(bool)
    clk = np.zeros(len(interest), bool) if clicked is None else np.asarray(clicked, bool)
    ax.scatter(interest[here & clk, 0], interest[here & clk, 1], marker="^", s=60, c="#d62728", zorder=3)
    ax.scatter(interest[here & ~clk, 0], interest[here & ~clk, 1], marker="^", s=60, facecolors="none",
               edgecolors="#d62728", linewidths=1.2, zorder=3)
    ax.scatter(interest[~here, 0], interest[~here, 1], marker="x", s=40, c="#999999", zorder=3)
    ax.set_xlabel("content dimension 1 (first PCA axis of item texts)")
    ax.set_ylabel("content dimension 2")
    head = f"t = {t}/{max_cycles}   " if t is not None else ""
    ax.set_title(f"{head}people present {int(here.sum())}/{len(here)}   clicks {int((here & clk).sum())}   "
                 f"items promoted {int((lv > 0).sum())}/{len(lv)}", fontsize=9)
    handles = [Line2D([], [], marker="o", ls="", color=cmap[v], alpha=0.7, label=f"item, promotion {v}")
               for v in range(num_levels)]
    handles += [
        Line2D([], [], marker="o", ls="", mfc="none", mec="black", label="recommended now (size: exposure)"),
        Line2D([], [], marker="^", ls="", color="#d62728", label="person's interest, clicked"),
        Line2D([], [], marker="^", ls="", mfc="none", mec="#d62728", label="person, did not click"),
        Line2D([], [], marker="x", ls="", color="#999999", label="person who left"),
    ]
    ax.legend(handles=handles, fontsize=6.5, loc="upper right", framealpha=0.8)
    ax.grid(alpha=0.2)
    canvas.draw()
    img = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    return img


def _level_colours(num_levels: int) -> list:
    """Grey for no promotion, then light to dark orange for higher levels."""
    out = ["#7f7f7f"]
    for v in range(1, num_levels):
        f = v / max(num_levels - 1, 1)
        out.append((1.0, 0.75 - 0.45 * f, 0.3 - 0.3 * f))
    return out
