"""Compiled CPU kernels (numba) of the two costliest parts of a step: retrieval and user observations.

Retrieval: noise + promotion bonus + top-K of a score chunk, row by row in cache.

``torch.topk`` on CPU copies each row into a buffer of (value, index) pairs and runs ``nth_element``;
with K = 10 of 256 items that is 40% of a whole simulation step. Here a row's noisy scores are formed
once in a small buffer, a few branch-free counting passes find a threshold that at least K of them
reach (and few more), and only those are sorted into the list of K. Rows run in parallel on as many
threads as torch uses. numba is optional: without it :mod:`recsim_marl.models.retrieval`
uses torch operations, which give the same lists.

User observations: most of their floats are the K x D candidate contents; torch gathers the contents,
takes the batched dot products and writes each field (several passes over the largest tensor of the
step); the kernel writes each row once. It knows kinds of field (person vectors, their dot products
with the candidates, per-item numbers read at each candidate, per-person numbers), not the fields
themselves: those and their places come from the observation table. Same values up to the summation
order of the dot products (float32 rounding).
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import torch


@functools.lru_cache(maxsize=1)
def _compiled():
    try:
        import numba

        from recsim_marl.models import _numba_kernels as k
    except ImportError:
        return None
    return numba, k.noisy_topk_rows, k.user_obs_rows


def available() -> bool:
    """True when numba is installed (the kernel compiles on first use and is cached on disk)."""
    return _compiled() is not None


def use(backend: str, device: torch.device) -> bool:
    """Whether a caller asked for ``backend`` ("auto", "torch" or "kernel") runs the compiled kernel on ``device``."""
    if backend not in ("auto", "torch", "kernel"):
        raise ValueError(f"backend must be 'auto', 'torch' or 'kernel', got {backend!r}")
    on_cpu = torch.device(device).type == "cpu"
    if backend == "kernel" and not (on_cpu and available()):
        raise RuntimeError(
            "the compiled kernels need numba (pip install numba) and CPU tensors; "
            f"numba available: {available()}, device: {device}"
        )
    return backend == "kernel" or (backend == "auto" and on_cpu and available())


_EMPTY_TABLE = np.zeros(1, np.float32)


def noisy_topk(scores: torch.Tensor, bonus: torch.Tensor, user_bits: torch.Tensor, item_bits: torch.Tensor,
               table: torch.Tensor | None, k: int) -> torch.Tensor:
    """Top-``k`` item indices ``[B, u, k]`` of ``(scores + bonus) + table[(a_u + b_i) mod 2**16]``, best
    first, the lower index first among equal scores.

    scores ``[B, u, I]`` float32; bonus ``[B, I]`` float32; user_bits ``[B, u]`` and item_bits ``[B, I]``
    int32; all on the CPU. ``table=None``: no noise.
    """
    numba, kernel, _ = _compiled()
    b, u, n = scores.shape
    if not 1 <= k <= n:
        raise ValueError(f"cannot take the top {k} of {n} items")
    out = torch.empty(b, u, k, dtype=torch.int64)
    _launch(
        numba,
        kernel,
        b * u * n,
        scores.reshape(b * u, n).contiguous().numpy(),
        bonus.contiguous().numpy(),
        user_bits.contiguous().numpy(),
        item_bits.contiguous().numpy(),
        _EMPTY_TABLE if table is None else table.contiguous().numpy(),
        table is not None,
        k,
        out.view(b * u, k).numpy(),
        pass_threads=True,  # the kernel splits its rows into one block per thread
    )
    return out


def user_observation(content: torch.Tensor, candidates: torch.Tensor, *, vectors: torch.Tensor, vector_fields,
                     vector_bounds, affinities, affinity_bounds, content_field: str, per_item: torch.Tensor,
                     item_fields, scalars: torch.Tensor, scalar_fields, layout) -> torch.Tensor:
    """The user observations ``[B, U, layout.size]`` written in one pass over each row: the candidates'
    contents gathered, their dot products with the person's vectors taken while copying, and every other
    field copied where ``layout`` (:func:`recsim_marl.core.observation.observation_layout`) puts it. The
    field names come from the observation table; this function knows only the kinds of field.

    content ``[B, I, D]`` (each world's catalogue) or ``[1, I, D]`` (one for every world); candidates ``[B, U, K]``; vectors ``[B, U, V, D]`` (the person vector fields
    ``vector_fields``, written clamped to ``vector_bounds``, one (low, high) each); affinities: ``(field, v)``
    pairs, the dot product of each candidate's content with vector ``v`` (clamped to ``affinity_bounds``); per_item ``[B, I, F]`` (the per-item numbers
    read at each candidate, ``item_fields``, already inside their bounds); scalars ``[B, U, P]``
    (``scalar_fields``, already inside their bounds); all float32 on the CPU.
    """
    numba, _, kernel = _compiled()
    b, u, k = candidates.shape
    names = [*vector_fields, *(a for a, _ in affinities), content_field, *item_fields, *scalar_fields]
    missing = [n for n in names if n not in layout.fields]
    if missing:
        raise ValueError(f"the layout has no field {missing}; it has {tuple(layout.fields)}")
    start = lambda names: np.asarray([layout[n].start for n in names], np.int64)  # noqa: E731
    edge = lambda pairs, side: np.asarray([p[side] for p in pairs], np.float32)  # noqa: E731
    dots = [a for a, _ in affinities]
    size = layout.size
    out = torch.empty(b, u, size, dtype=torch.float32)
    _launch(numba, kernel, b * u * size, content.contiguous().numpy(), candidates.reshape(b * u, k).contiguous().numpy(),
            vectors.reshape(b * u, *vectors.shape[2:]).contiguous().numpy(), start(vector_fields),
            edge(vector_bounds, 0), edge(vector_bounds, 1), np.asarray([v for _, v in affinities], np.int64),
            start(dots), edge(affinity_bounds, 0), edge(affinity_bounds, 1), layout[content_field].start, per_item.contiguous().numpy(), start(item_fields),
            scalars.reshape(b * u, -1).contiguous().numpy(), start(scalar_fields), u, out.view(b * u, size).numpy())
    return out


# below this many element operations a launch is too small to share: the kernel runs on one thread,
# so a one-world step never waits for a second thread that another process has taken
SERIAL_WORK = 1 << 16

# below this many (world, person, item) triples a step runs on one thread (serial_if_small). Measured on
# `default` (64 x 256 per world), 2 cores, one process alone: a second thread gave 0.90x at 1 world,
# 1.03x at 2, 1.01x at 4, 1.12x at 8, 1.24x at 16, 1.61x at 64
SERIAL_STEP_WORK = 1 << 17


@contextlib.contextmanager
def serial_if_small(work: int, device: torch.device):
    """Torch on one thread while the block runs, when its ``work`` (people x items of a step) is below
    :data:`SERIAL_STEP_WORK` on the CPU; the user's thread count is put back after it. A step that
    small gains nothing from a second thread, and with two processes on one machine idle OpenMP threads
    spin for cores the other process needs (issue 18: two one-world processes kept 0.1x each of one
    alone). Larger work keeps the user's threads."""
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1 or work >= SERIAL_STEP_WORK:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _use_torch_threads(numba, work: int) -> int:
    """Run numba's threads as torch's (a user who limits torch to one thread limits the kernels too),
    one thread for small launches."""
    n = 1 if work < SERIAL_WORK else max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


def _launch(numba, kernel, work: int, *args, pass_threads: bool = False) -> None:
    """Run a kernel and leave torch's thread count as the user had it: numba's OpenMP layer starts by
    setting the process's OpenMP thread count to its own, which torch would then report and use."""
    torch_threads = torch.get_num_threads()
    n = _use_torch_threads(numba, work)
    try:
        kernel(*args, n) if pass_threads else kernel(*args)
    finally:
        if torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)
