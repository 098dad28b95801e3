"""PCA projection of embeddings to ``embed_dim`` dimensions, in torch, with deterministic signs."""

from __future__ import annotations

import torch


def fit_pca(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``[H]`` and components ``[H, dim]`` of ``x`` ``[N, H]`` (float64 SVD for stability).

    Each component's sign is fixed so that its largest-magnitude coordinate is positive, so the same
    data always gives the same projection.
    """
    n, h = x.shape
    if dim > h:
        raise ValueError(f"embed_dim={dim} is larger than the encoder's dimension {h}; use embed_dim <= {h}")
    if dim > n:
        raise ValueError(
            f"embed_dim={dim} needs at least {dim} texts to fit a PCA, got {n}; lower embed_dim or add texts"
        )
    x64 = x.double()
    mean = x64.mean(0)
    _, _, vh = torch.linalg.svd(x64 - mean, full_matrices=False)
    comps = vh[:dim].T  # [H, dim]
    idx = comps.abs().argmax(0)
    signs = torch.sign(comps[idx, torch.arange(dim)])
    signs[signs == 0] = 1.0
    return mean.float(), (comps * signs).float()


def project(x: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    """Centre, project and re-normalise: ``[N, H] -> [N, dim]`` unit rows."""
    return torch.nn.functional.normalize((x - mean) @ components, dim=-1)
