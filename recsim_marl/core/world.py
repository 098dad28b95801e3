"""The static part of a world on its device: content, profiles, quality, length (shared by all envs).

``build_world`` turns a config into tensors once: catalogue -> texts -> cached embeddings -> PCA.
Worlds are memoised per (catalogue/encoder fields, device), so every env of a batch, and every env
built later in the process with the same world, shares one copy of the embedding tensors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from recsim_marl.catalog import Catalog, build_catalog
from recsim_marl.config import EnvConfig
from recsim_marl.embeddings import encode_cached, fit_pca, load_encoder, project, resolve_encoder
from recsim_marl.embeddings.encoder import LRU


@dataclass(frozen=True)
class World:
    """Static tensors of one world (all on ``device``).

    content ``[I, D]`` unit rows; content_t ``[D, I]`` (contiguous transpose for retrieval);
    profile ``[U, D]`` unit rows; quality ``[I]``; length ``[I]``; appeal ``[I]`` (how clickable);
    activity ``[U]`` (how often each person comes back, relative to the median person).
    """

    content: torch.Tensor
    content_t: torch.Tensor
    profile: torch.Tensor
    quality: torch.Tensor
    length: torch.Tensor
    appeal: torch.Tensor
    activity: torch.Tensor
    catalog: Catalog
    device: torch.device


_WORLD_FIELDS = (
    "num_users", "num_items", "embed_dim", "catalog", "catalog_seed", "data_path", "item_texts",
    "user_texts", "encoder", "pooling", "max_length", "cache_dir", "appeal_quality_correlation",
)
_WORLDS: LRU = LRU(8)  # the most recently used worlds (a world holds its embeddings and catalogue)


_TEXT_BYTES = 256  # a generated text as a Python str, with its share of the catalogue's lists
_ENCODER_DIM = 384  # MiniLM and the hash encoder; a larger custom encoder needs more


def estimate_bytes(config: EnvConfig, num_envs: int) -> int:
    """Host memory a world and ``num_envs`` envs of it need, roughly (a lower bound for big worlds).

    World: one text per person and item plus their encoder output and its projection
    (``(U + I) * (256 + 4 * (384 + D))`` bytes). Envs (when on the CPU): the state, the observation and
    the final observation of each env (``4 * B * (U * (6D + 2 O_u + 2K + 8) + I * (2 O_i + 12))``).
    """
    from recsim_marl.core.observation import item_layout, user_layout  # the layouts are defined there, once

    u, i, d, k = config.num_users, config.num_items, config.embed_dim, config.num_candidates
    obs_u, obs_i = user_layout(config).size, item_layout(config).size
    world = (u + i) * (_TEXT_BYTES + 4 * (_ENCODER_DIM + d))
    envs = 4 * num_envs * (u * (6 * d + 2 * obs_u + 2 * k + 8) + i * (2 * obs_i + 12))
    return world + envs


def available_bytes() -> int | None:
    """Memory the OS can give this process now (psutil, else /proc/meminfo, else sysconf); None if unknown."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil missing or unusable: try the OS directly
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(config: EnvConfig, num_envs: int, on_cpu: bool = True) -> None:
    """Fail fast, before generating texts or encoding, when a world cannot fit in memory.

    Refuses when :func:`estimate_bytes` exceeds the available memory; ``RECSIM_MARL_MEMORY_CHECK=0``
    skips the check (for a machine that swaps or a better estimate of your own).
    """
    if os.environ.get("RECSIM_MARL_MEMORY_CHECK", "1") == "0":
        return
    need = estimate_bytes(config, num_envs if on_cpu else 0)
    have = available_bytes()
    if have is None or need <= have:
        return
    gb = 1024**3
    raise MemoryError(
        f"this world needs about {need / gb:.1f} GB (num_users={config.num_users}, num_items={config.num_items}, "
        f"num_envs={num_envs}: texts, embeddings and state) but only {have / gb:.1f} GB of memory is available. "
        "Lower num_users/num_items (or num_envs), or set RECSIM_MARL_MEMORY_CHECK=0 to try anyway."
    )


def world_key(config: EnvConfig, device: torch.device) -> tuple:
    # appeal_quality_correlation shapes only the synthetic catalogue: other worlds do not depend on it
    ignore = () if config.catalog == "synthetic" else ("appeal_quality_correlation",)
    return tuple(None if f in ignore else getattr(config, f) for f in _WORLD_FIELDS) + (str(device),)


def _check_width(config: EnvConfig, h: int) -> None:
    if config.embed_dim > h:
        raise ValueError(
            f"config field embed_dim={config.embed_dim} is larger than encoder {config.encoder!r}'s "
            f"dimension {h}; use embed_dim <= {h}"
        )


def build_world(config: EnvConfig, device: torch.device | str = "cpu") -> World:
    """Catalogue, embeddings (disk-cached) and PCA for ``config``, on ``device`` (memoised)."""
    device = torch.device(device)
    key = world_key(config, device)
    if key in _WORLDS:
        _WORLDS.move_to_end(key)
        return _WORLDS[key]
    cpu_key = world_key(config, torch.device("cpu"))
    if device.type != "cpu" and cpu_key in _WORLDS:
        w = _WORLDS[cpu_key]
        world = World(*(t.to(device) for t in (w.content, w.content_t, w.profile, w.quality, w.length, w.appeal,
                                                w.activity)),
                      catalog=w.catalog, device=device)
        return _WORLDS.get_or(key, lambda: world)

    catalog = build_catalog(config)
    spec = resolve_encoder(config.encoder, config.pooling, config.max_length)
    if spec.width is not None:  # say it before encoding anything
        _check_width(config, spec.width)
    loaded: list = []  # the model, loaded at most once for this world and freed when it is built

    def loader(spec):
        if not loaded:
            loaded.append(load_encoder(spec))
        return loaded[0]

    items = encode_cached(spec, catalog.item_texts, config.cache_dir, loader)  # [I, H]
    if catalog.user_liked_items is not None:
        profiles_raw = torch.stack([
            items[idx].mean(0) if len(idx) else torch.zeros(items.shape[1])
            for idx in catalog.user_liked_items
        ])
        missing = [u for u, idx in enumerate(catalog.user_liked_items) if len(idx) == 0]
        if missing:  # people who rated nothing in the catalogue: fall back to their text
            text_emb = encode_cached(spec, [catalog.user_texts[u] for u in missing], config.cache_dir, loader)
            profiles_raw[missing] = text_emb
        profiles_raw = torch.nn.functional.normalize(profiles_raw, dim=-1)
    else:
        profiles_raw = encode_cached(spec, catalog.user_texts, config.cache_dir, loader)  # [U, H]
    h = items.shape[1]
    _check_width(config, h)
    if config.embed_dim < h:
        mean, comps = fit_pca(items, config.embed_dim)  # the content space; people are projected into it
        content, profile = project(items, mean, comps), project(profiles_raw, mean, comps)
    else:
        content, profile = items, profiles_raw
    # unit rows; clamp guards coordinates that round to 1 + 1e-7, so observations stay in their Box
    content = content.clamp(-1.0, 1.0).to(device).contiguous()
    world = World(
        content=content,
        content_t=content.T.contiguous(),
        profile=profile.clamp(-1.0, 1.0).to(device).contiguous(),
        # clipped to 5 sigma so observations have finite bounds (observation.QUALITY_BOUND)
        quality=torch.as_tensor(catalog.item_quality, dtype=torch.float32, device=device).clamp(-5.0, 5.0),
        length=torch.as_tensor(catalog.item_length, dtype=torch.float32, device=device),
        appeal=torch.as_tensor(catalog.item_appeal, dtype=torch.float32, device=device).clamp(-5.0, 5.0),
        activity=torch.as_tensor(catalog.user_activity, dtype=torch.float32, device=device),
        catalog=catalog,
        device=device,
    )
    return _WORLDS.get_or(key, lambda: world)
