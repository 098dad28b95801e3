"""The platform's retrieval (DESIGN §4 step 11): top-K of estimate . content + promotion + noise.

Noise. Pair (u, i) gets ``noise_scale * G[(a_u + b_i) mod 2**16]`` where ``a_u``, ``b_i`` are 16-bit
random integers drawn per person and per item each step and ``G`` is a table of the standard Gumbel
distribution's 65,536 quantiles, ``G[j] = -log(-log((j + 1/2) / 2**16))``. ``(a_u + b_i) mod 2**16`` is
uniform for every pair, so each pair's noise is Gumbel quantised to 16 bits (range -2.5..11.1); it
costs U + I random numbers and one table read per pair instead of U x I random numbers and two
logarithms.

Cost. The U x I score matrix is computed in chunks of people sized by a memory budget, so a
catalogue of 100,000 items never materialises it whole. On CPU the noise, the promotion bonus and the
top-K selection of a chunk run in one compiled pass (:mod:`recsim_marl.models._kernels`, numba) when
numba is installed; otherwise, and on CUDA, they are torch operations. Both give the same lists:
scores are summed in the same order, ``(estimate . content + bonus) + noise``. Only exactly equal
scores (duplicate items without noise) may be ordered differently: the kernel puts the lower item
index first, ``torch.topk`` leaves their order unspecified.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from recsim_marl.models import _kernels

NOISE_BITS = 16
NOISE_MASK = (1 << NOISE_BITS) - 1


@functools.lru_cache(maxsize=8)
def _gumbel_quantiles(noise_scale: float) -> np.ndarray:
    j = np.arange(1 << NOISE_BITS, dtype=np.float64)
    return (noise_scale * -np.log(-np.log((j + 0.5) / (1 << NOISE_BITS)))).astype(np.float32)


def noise_table(noise_scale: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[2**16]`` float32: ``noise_scale`` times the Gumbel quantiles (the noise of every pair is one entry).

    Made once per scale and device and kept there (read it, do not write it)."""
    return _device_table(float(noise_scale), str(torch.device(device)))


@functools.lru_cache(maxsize=8)
def _device_table(noise_scale: float, device: str) -> torch.Tensor:
    return torch.from_numpy(_gumbel_quantiles(noise_scale)).to(device)


def pair_noise(user_bits: torch.Tensor, item_bits: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``[B, u]`` and ``[B, I]`` 16-bit ints -> ``[B, u, I]`` noise ``table[(a_u + b_i) mod 2**16]``."""
    idx = (user_bits.unsqueeze(-1) + item_bits.unsqueeze(-2)) & NOISE_MASK  # int32
    return table[idx]


def chunk_size(num_envs: int, num_users: int, num_items: int, memory_mb: float) -> int:
    """People per chunk so that a chunk's buffers fit ``memory_mb``: scores, noise indices, noise and the
    ranking key of :func:`ranked_topk` (int32 and int64), six 4-byte words per pair."""
    per_user = num_envs * num_items * 4 * 6
    return max(1, min(num_users, int(memory_mb * 2**20 // per_user)))


def num_chunks(num_envs: int, num_users: int, num_items: int, memory_mb: float) -> int:
    return math.ceil(num_users / chunk_size(num_envs, num_users, num_items, memory_mb))


def ranked_topk(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` largest ``scores`` along the last dim, best first, the lower index first
    among equal scores: the order of the compiled kernel, on any device.

    ``torch.topk`` leaves the order of equal values unspecified (and CPU and CUDA differ), and exact ties
    do occur: items with the same text have the same content, and the noise comes from a table. So
    each score is made a unique int64 key: the float's bits mapped to an int32 of the same order
    (+0.0 and -0.0 equal), shifted up, with ``I - 1 - index`` below it.
    """
    bits = scores.contiguous().view(torch.int32)
    ordered = torch.where(bits < 0, -(bits & 0x7FFFFFFF), bits)  # same order as the floats
    n = scores.shape[-1]
    rank_of_index = torch.arange(n - 1, -1, -1, device=scores.device, dtype=torch.int64)
    key = (ordered.to(torch.int64) << 32) | rank_of_index
    return torch.topk(key, k, dim=-1, sorted=True).indices


def retrieve(
    estimate: torch.Tensor,
    content_t: torch.Tensor,
    bonus: torch.Tensor,
    user_bits: torch.Tensor,
    item_bits: torch.Tensor,
    table: torch.Tensor | None,
    k: int,
    memory_mb: float,
    backend: str = "auto",
) -> torch.Tensor:
    """Candidate lists ``[B, U, K]`` (item indices, best first).

    estimate ``[B, U, D]``; content_t ``[D, I]`` (one catalogue for every world) or ``[B, D, I]`` (each
    world's own); bonus ``[B, I]`` (promotion term); user_bits ``[B, U]``
    and item_bits ``[B, I]`` int32 in [0, 2**16) for the noise; ``table`` from :func:`noise_table`
    (``None``: no noise). ``backend``: ``"auto"`` (the compiled CPU kernel when numba is there and the
    tensors are on the CPU, torch otherwise), ``"torch"`` or ``"kernel"``.
    """
    use_kernel = _kernels.use(backend, estimate.device)
    b, u, _ = estimate.shape
    i = content_t.shape[-1]
    step = chunk_size(b, u, i, memory_mb)
    out = []
    for start in range(0, u, step):
        scores = torch.matmul(estimate[:, start : start + step], content_t)  # [B, u, I]
        bits = user_bits[:, start : start + step]
        if use_kernel:
            out.append(_kernels.noisy_topk(scores, bonus, bits, item_bits, table, k))
            continue
        scores += bonus.unsqueeze(1)
        if table is not None:
            scores += pair_noise(bits, item_bits, table)
        out.append(ranked_topk(scores, k))
    return out[0] if len(out) == 1 else torch.cat(out, dim=1)
