"""Rendering a world: an ANSI table of the last step and an RGB 2-D projection (numpy only)."""

from __future__ import annotations

import numpy as np

MAX_ROWS = 16


def ansi_table(titles: list[str], t: int, max_cycles: int, alive: np.ndarray, budget: np.ndarray,
               recommended: np.ndarray | None, clicked: np.ndarray | None, levels: np.ndarray | None) -> str:
    """Who was recommended what, who clicked, budgets; one row per person (the first MAX_ROWS)."""
    lines = [f"t={t}/{max_cycles}  people present: {int(alive.sum())}/{len(alive)}"]
    if levels is not None:
        lines[0] += f"  items promoted: {int((levels > 0).sum())}/{len(levels)}"
    lines.append(f"{'person':>8} {'budget':>7} {'click':>5}  recommended")
    for u in range(min(len(alive), MAX_ROWS)):
        if recommended is None:
            rec, clk = "-", "-"
        else:
            rec = f"[{int(recommended[u])}] {titles[int(recommended[u])]}"
            clk = "yes" if clicked[u] else "no"
        mark = "" if alive[u] else "  (left)"
        lines.append(f"{'user_' + str(u):>8} {budget[u]:7.2f} {clk:>5}  {rec}{mark}")
    if len(alive) > MAX_ROWS:
        lines.append(f"... {len(alive) - MAX_ROWS} more people")
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
