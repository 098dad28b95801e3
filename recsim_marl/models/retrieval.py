"""The platform's retrieval (DESIGN §4 step 11): top-K of estimate . content + promotion + noise.

The U x I score matrix is computed in chunks of people sized by a memory budget, so a catalogue of
100,000 items never materialises it whole. The seeded Gumbel noise of pair (u, i) is
``G(frac(x_u + y_i))`` with ``x_u``, ``y_i`` uniform per person and per item and per step: each pair's
noise is exactly Gumbel-distributed, and it costs U + I random numbers instead of U x I.
"""

from __future__ import annotations

import math

import torch


def chunk_size(num_envs: int, num_users: int, num_items: int, memory_mb: float) -> int:
    """People per chunk so that a chunk's scores and noise (3 float32 buffers) fit ``memory_mb``."""
    per_user = num_envs * num_items * 4 * 3
    return max(1, min(num_users, int(memory_mb * 2**20 // per_user)))


def gumbel_pairs(user_u: torch.Tensor, item_u: torch.Tensor) -> torch.Tensor:
    """``[B, u]`` and ``[B, I]`` uniforms -> ``[B, u, I]`` standard Gumbel noise ``-log(-log(v))``."""
    return _neg_log_neg_log(torch.frac_(user_u.unsqueeze(-1) + item_u.unsqueeze(-2))).neg_()


def _neg_log_neg_log(v: torch.Tensor) -> torch.Tensor:
    """``log(-log(v))`` in place (one buffer, no temporaries: this runs on U x I values per step)."""
    return v.clamp_(1e-7, 1.0 - 1e-7).log_().neg_().log_()


def retrieve(
    estimate: torch.Tensor,
    content_t: torch.Tensor,
    bonus: torch.Tensor,
    user_u: torch.Tensor,
    item_u: torch.Tensor,
    k: int,
    noise_scale: float,
    memory_mb: float,
) -> torch.Tensor:
    """Candidate lists ``[B, U, K]`` (item indices, best first).

    estimate ``[B, U, D]``; content_t ``[D, I]``; bonus ``[B, I]`` (promotion term);
    user_u ``[B, U]`` and item_u ``[B, I]`` uniforms for the noise.
    """
    b, u, _ = estimate.shape
    i = content_t.shape[1]
    step = chunk_size(b, u, i, memory_mb)
    out = []
    for start in range(0, u, step):
        scores = torch.matmul(estimate[:, start : start + step], content_t)  # [B, u, I]
        scores += bonus.unsqueeze(1)
        if noise_scale > 0:  # scores + scale * Gumbel = scores - scale * log(-log(v))
            v = torch.frac_(user_u[:, start : start + step].unsqueeze(-1) + item_u.unsqueeze(-2))
            scores.sub_(_neg_log_neg_log(v), alpha=noise_scale)
        out.append(torch.topk(scores, k, dim=-1, sorted=True).indices)
    return out[0] if len(out) == 1 else torch.cat(out, dim=1)


def num_chunks(num_envs: int, num_users: int, num_items: int, memory_mb: float) -> int:
    return math.ceil(num_users / chunk_size(num_envs, num_users, num_items, memory_mb))
