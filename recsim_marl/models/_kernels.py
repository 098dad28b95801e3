"""Compiled CPU kernels (numba) of the two costliest parts of a step: retrieval and user observations.

Retrieval: noise + promotion bonus + top-K of a score chunk, row by row in cache.

``torch.topk`` on CPU copies each row into a buffer of (value, index) pairs and runs ``nth_element``;
with K = 10 of 256 items that is 40% of a whole simulation step. Here a row's noisy scores are formed
once in a small buffer, a few branch-free counting passes find a threshold that at least K of them
reach (and few more), and only those are sorted into the list of K. Rows run in parallel on as many
threads as torch uses. numba is optional: without it :mod:`recsim_marl.models.retrieval`
uses torch operations, which give the same lists.

User observations: ``[B, U, 2D + K(D + 7) + 4]`` floats, most of them the K x D candidate contents;
torch gathers the contents, takes two batched dot products and concatenates ten pieces (three passes
over the largest tensor of the step); the kernel writes each row once. Same values up to the
summation order of the two dot products (float32 rounding).
"""

from __future__ import annotations

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


PERSON_FIELDS = ("click_rate", "present", "time_away")
"""The per-person scalar fields of the user observation, passed to the kernel as one ``[B, U, 3]`` tensor."""
USER_FIELDS = ("estimate", "history", "candidate_content", "candidate_relevance", "candidate_familiarity",
               "candidate_rating", "candidate_promotion", "candidate_popularity", "candidate_ctr",
               "candidate_length", "progress", *PERSON_FIELDS)
"""The user-observation fields the kernel writes; where each goes comes from the layout."""


def user_observation(content: torch.Tensor, candidates: torch.Tensor, estimate: torch.Tensor, history: torch.Tensor,
                     rating: torch.Tensor, promo: torch.Tensor, pop: torch.Tensor, ctr: torch.Tensor,
                     length: torch.Tensor, progress: torch.Tensor, person: torch.Tensor, layout) -> torch.Tensor:
    """The user observations ``[B, U, layout.size]`` written in one pass (candidate contents gathered,
    their dot products taken while copying), each field of :data:`USER_FIELDS` where ``layout``
    (:func:`recsim_marl.core.observation.observation_layout`) puts it; the caller writes any others.

    content ``[I, D]``; candidates ``[B, U, K]``; estimate, history ``[B, U, D]``; rating, promo
    (level / (L - 1)), pop, ctr ``[B, I]``; length ``[I]`` (/ the longest); progress ``[B]``; person
    ``[B, U, 3]`` (the :data:`PERSON_FIELDS`, already inside their bounds); all float32 on the CPU.
    """
    numba, _, kernel = _compiled()
    b, u, k = candidates.shape
    if not set(USER_FIELDS) <= set(layout.fields):
        raise ValueError(f"the user-observation kernel writes {USER_FIELDS}; the layout has {tuple(layout.fields)}")
    at = np.asarray([layout[name].start for name in USER_FIELDS], np.int64)
    size = layout.size
    out = torch.empty(b, u, size, dtype=torch.float32)
    flat = lambda x: x.reshape(b * u, -1).contiguous().numpy()  # noqa: E731
    _launch(numba, kernel, b * u * size, content.contiguous().numpy(), flat(candidates), flat(estimate),
            flat(history), rating.contiguous().numpy(), promo.contiguous().numpy(), pop.contiguous().numpy(),
            ctr.contiguous().numpy(), length.contiguous().numpy(), progress.contiguous().numpy(), flat(person),
            u, at, out.view(b * u, size).numpy())
    return out


# below this many element operations a launch is too small to share: the kernel runs on one thread,
# so a one-world step never waits for a second thread that another process has taken
SERIAL_WORK = 1 << 16


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
