"""The static part of the worlds on their device: the pool of items and people every world draws from,
and each world's own catalogue.

``build_world`` turns a config into tensors once: pool -> texts -> cached embeddings -> PCA. A
:class:`World` holds a pool: for a synthetic config, its split's pool (``catalog_pool`` times the
world's sizes); for MovieLens, its split's movies and people; for custom texts, the one catalogue. Pools are memoised per (pool and
encoder fields, device), so every env of a batch, and every env built later in the process with the
same pool, shares one copy of the embedding tensors.

Each world (env) of a batch has its own items and people, drawn from the pool by its seed
(:func:`draw`) and kept in the state (``State.items``, ``State.people``: pool indices); a
:class:`Catalogue` holds their tensors with the batch dimension first, and is what the step reads.
Where every world has the same catalogue (``catalog_seed`` set, or a pool the size of the world) its
tensors are one copy expanded over the batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from recsim_marl import rng
from recsim_marl.catalog import Catalog, build_catalog
from recsim_marl.config import POOLED, EnvConfig
from recsim_marl.embeddings import encode_cached, fit_pca, load_encoder, project, resolve_encoder
from recsim_marl.embeddings.encoder import LRU


@dataclass(frozen=True)
class World:
    """Static tensors of a pool of P_I items and P_U people (all on ``device``).

    content ``[P_I, D]`` unit rows; content_t ``[D, P_I]`` (contiguous transpose); profile ``[P_U, D]``
    unit rows; quality ``[P_I]``; length ``[P_I]``; appeal ``[P_I]`` (how clickable); activity ``[P_U]``
    (how often each person comes back, relative to the median person); catalog: the pool's texts.
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


    @property
    def pool_items(self) -> int:
        return int(self.content.shape[0])

    @property
    def pool_people(self) -> int:
        return int(self.profile.shape[0])


@dataclass(frozen=True)
class Catalogue:
    """The items and people of each world of a batch: tensors with the batch dimension first.

    items ``[B, I]``, people ``[B, U]`` long: pool indices (item agent i of world b is pool item
    ``items[b, i]``); content ``[B, I, D]``; content_t ``[B, D, I]`` or ``[D, I]`` (when every world
    shares one catalogue); quality, appeal, length ``[B, I]``; profile ``[B, U, D]``; activity ``[B, U]``.
    Read them with :func:`take`; a shared catalogue's tensors are one copy expanded over the batch.
    """

    items: torch.Tensor
    people: torch.Tensor
    content: torch.Tensor
    content_t: torch.Tensor
    quality: torch.Tensor
    appeal: torch.Tensor
    length: torch.Tensor
    profile: torch.Tensor
    activity: torch.Tensor
    pool: World | None = None

    def rows(self, rows: torch.Tensor) -> Catalogue:
        """The catalogues of worlds ``rows [n]`` (a shared catalogue stays shared)."""
        shared = self.content_t.dim() == 2
        pick = (lambda x: x[:1].expand(rows.shape[0], *x.shape[1:])) if shared else (lambda x: x[rows])
        keep = ("content_t", "pool") if shared else ("pool",)
        return Catalogue(**{f: (getattr(self, f) if f in keep else pick(getattr(self, f)))
                            for f in self.__dataclass_fields__})

    def with_items(self, items: torch.Tensor) -> Catalogue:
        """The same worlds and people holding pool items ``items [B, I]`` (what creators published; no host
        read): the items' tensors are gathered from the pool, each world its own."""
        p = self.pool
        content = p.content[items]
        return Catalogue(items=items, people=self.people, content=content,
                         content_t=content.transpose(1, 2).contiguous(), quality=p.quality[items],
                         appeal=p.appeal[items], length=p.length[items], profile=self.profile,
                         activity=self.activity, pool=p)


def take(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Per world, rows of a catalogue tensor: ``x [B, N, *rest]``, ``index [B, *shape]`` long in [0, N)
    -> ``[B, *shape, *rest]`` (``out[b, j] = x[b, index[b, j]]``). No host read; an expanded (shared)
    ``x`` is indexed once, without a copy of it per world."""
    b = index.shape[0]
    flat = index.reshape(b, -1)
    if x.stride(0) == 0:  # one catalogue for every world
        out = x[0][flat]
    else:
        out = x[torch.arange(b, device=x.device).unsqueeze(-1), flat]
    return out.reshape(*index.shape, *x.shape[2:])


def draw(world: World, config: EnvConfig, seed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each world's items ``[B, I]`` and people ``[B, U]`` (pool indices) for env seeds ``seed [B]``: a
    random subset of the pool keyed by the seed alone (not the episode: a world keeps its catalogue
    across episodes), or by ``config.catalog_seed`` for every world when it is set. A pool the size of
    the world is the world, in pool order."""
    b, dev = seed.shape[0], seed.device
    if config.catalog_seed is not None:
        seed = torch.full_like(seed, config.catalog_seed)
    zero = torch.zeros_like(seed)
    out = []
    for n, pool, purpose in ((config.num_items, world.pool_items, rng.Purpose.CATALOGUE_ITEMS),
                             (config.num_users, world.pool_people, rng.Purpose.CATALOGUE_PEOPLE)):
        if n == pool:
            out.append(torch.arange(n, device=dev).expand(b, n))
        else:
            out.append(rng.subset(rng.stream_key(seed, zero, zero, purpose), pool, n))
    return out[0], out[1]


def select(world: World, items: torch.Tensor, people: torch.Tensor) -> Catalogue:
    """The :class:`Catalogue` of worlds with pool indices ``items [B, I]`` and ``people [B, U]`` (one
    host read: whether every world has the same catalogue, then it is kept once)."""
    b = items.shape[0]
    shared = bool((items == items[:1]).all()) and bool((people == people[:1]).all())
    if shared:
        i, u = items[0], people[0]
        content = world.content[i]
        one = dict(content=content, quality=world.quality[i], appeal=world.appeal[i], length=world.length[i],
                   profile=world.profile[u], activity=world.activity[u])
        return Catalogue(items=items, people=people, content_t=content.T.contiguous(), pool=world,
                         **{k: v.expand(b, *v.shape) for k, v in one.items()})
    content = world.content[items]
    # retrieval multiplies by content_t every step: a contiguous copy, made once per reset, halves that time
    return Catalogue(items=items, people=people, content=content, content_t=content.transpose(1, 2).contiguous(),
                     quality=world.quality[items], appeal=world.appeal[items], length=world.length[items],
                     profile=world.profile[people], activity=world.activity[people], pool=world)


# the config fields a pool is built from (its memo key); tests/test_worlds.py builds pools through a
# recorder of field reads and fails if one read is missing here
_WORLD_FIELDS = (
    "num_users", "num_items", "embed_dim", "catalog", "split", "catalog_pool", "data_path", "item_texts",
    "user_texts", "encoder", "pooling", "max_length", "cache_dir", "appeal_quality_correlation",
)
_WORLDS: LRU = LRU(8)  # the most recently used worlds (a world holds its embeddings and catalogue)


_TEXT_BYTES = 256  # a generated text as a Python str, with its share of the catalogue's lists
_ENCODER_DIM = 384  # MiniLM and the hash encoder; a larger custom encoder needs more


_ML_ITEMS, _ML_PEOPLE = 1664, 943  # MovieLens-100k (films listed twice merged)
_PCA_BYTES = 40  # per basis value: its float64 copy, the centred copy, the SVD's U and LAPACK's workspace


def estimate_bytes(config: EnvConfig, num_envs: int) -> int:
    """Host memory a world and ``num_envs`` envs of it need at their peak, roughly.

    World: one text per person and item of the pool (``n = catalog_pool`` times the world's sizes for
    synthetic worlds, twice that for the test and validation splits, whose content space comes from the
    training pool;
    MovieLens: every movie and person, at most)
    with its encoder output and projection (``n (U + I) (256 + 4 (H + D))`` bytes, H = 384 for MiniLM),
    plus the PCA's peak while it is fitted on the training pool's items (``N_I H 40`` bytes: the float64
    SVD holds five copies' worth of the ``[N_I, H]`` basis; the largest term for big catalogues). Envs
    (when on the CPU): the state, the observation, the final observation and the catalogue of each env
    (``4 B (U (7D + 2 O_u + 2K + 12) + I (2 O_i + 2D + 17))``). Within 2x of the measured peak at the
    sizes in docs/reliability.md (``python -m benchmarks.memory``).
    """
    from recsim_marl.core.observation import item_layout, user_layout  # the layouts are defined there, once

    u, i, d, k = config.num_users, config.num_items, config.embed_dim, config.num_candidates
    obs_u, obs_i = user_layout(config).size, item_layout(config).size
    if config.catalog == "movielens-100k":  # at most every movie and person (a test world reads the train pool)
        texts, basis = _ML_ITEMS + _ML_PEOPLE, _ML_ITEMS
    else:
        pool = config.catalog_pool if config.catalog == "synthetic" else 1
        splits = 2 if config.catalog == "synthetic" and config.split != "train" else 1
        texts, basis = pool * splits * (u + i), pool * i
    world = texts * (_TEXT_BYTES + 4 * (_ENCODER_DIM + d))
    if d < _ENCODER_DIM:
        world += basis * _ENCODER_DIM * _PCA_BYTES
    envs = 4 * num_envs * (u * (7 * d + 2 * obs_u + 2 * k + 12) + i * (2 * obs_i + 2 * d + 17))
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
        "Lower num_users/num_items (or num_envs"
        + (f", or catalog_pool: a synthetic world's pools hold catalog_pool (now {config.catalog_pool}) times its "
           "sizes; catalog_pool=1 makes the pool the world" if config.catalog == "synthetic" else "")
        + "), or set RECSIM_MARL_MEMORY_CHECK=0 to try anyway."
    )


def world_key(config: EnvConfig, device: torch.device) -> tuple:
    # appeal_quality_correlation, the sizes and catalog_pool shape only synthetic pools; split, pooled ones
    ignore = {"synthetic": (), "movielens-100k": ("appeal_quality_correlation", "catalog_pool", "num_users", "num_items")
              }.get(config.catalog, ("appeal_quality_correlation", "split", "catalog_pool"))
    return tuple(None if f in ignore else getattr(config, f) for f in _WORLD_FIELDS) + (str(device),)


def _check_width(config: EnvConfig, h: int) -> None:
    if config.embed_dim > h:
        raise ValueError(
            f"config field embed_dim={config.embed_dim} is larger than encoder {config.encoder!r}'s "
            f"dimension {h}; use embed_dim <= {h}"
        )


def check_pool(config: EnvConfig) -> None:
    """Raise :class:`ValueError` naming the sizes when ``config``'s worlds are bigger than its split's pool
    (a MovieLens split; synthetic pools grow with the world), without encoding anything."""
    if config.catalog == "movielens-100k":
        _check_pool(config, build_catalog(config))


def _check_pool(config: EnvConfig, catalog: Catalog) -> None:
    if config.num_items > len(catalog.item_texts) or config.num_users > len(catalog.user_texts):
        raise ValueError(
            f"config fields num_items={config.num_items}, num_users={config.num_users}: the pool {catalog.name!r} "
            f"holds {len(catalog.item_texts)} items and {len(catalog.user_texts)} people, and a world draws its "
            "own from it; lower num_items/num_users to at most those"
        )


def build_world(config: EnvConfig, device: torch.device | str = "cpu") -> World:
    """Catalogue, embeddings (disk-cached) and PCA for ``config``, on ``device`` (memoised)."""
    device = torch.device(device)
    key = world_key(config, device)
    if key in _WORLDS:
        _WORLDS.move_to_end(key)
        _check_pool(config, _WORLDS[key].catalog)  # a pool serves worlds of any size up to its own
        return _WORLDS[key]
    cpu_key = world_key(config, torch.device("cpu"))
    if device.type != "cpu" and cpu_key in _WORLDS:
        w = _WORLDS[cpu_key]
        _check_pool(config, w.catalog)
        world = World(*(t.to(device) for t in (w.content, w.content_t, w.profile, w.quality, w.length, w.appeal,
                                                w.activity)),
                      catalog=w.catalog, device=device)
        return _WORLDS.get_or(key, lambda: world)

    catalog = build_catalog(config)
    _check_pool(config, catalog)
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
        # the content space: the PCA of the training pool's items, so that every split's worlds share one
        # coordinate system (a policy trained on 'train' reads 'test' in the same coordinates)
        basis = items
        if config.catalog in POOLED and config.split != "train":
            basis = encode_cached(spec, build_catalog(config, "train").item_texts, config.cache_dir, loader)
        mean, comps = fit_pca(basis, config.embed_dim)  # people are projected into it too
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
