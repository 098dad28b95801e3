"""Where texts and priors come from: synthetic (seeded), MovieLens-100k, or user-supplied."""

from __future__ import annotations

import numpy as np

from recsim_marl.catalog.base import Catalog
from recsim_marl.catalog.movielens import DatasetError, find_movielens, movielens_pool
from recsim_marl.catalog.synthetic import split_of, synthetic_catalog, synthetic_pool


def custom_catalog(item_texts, user_texts, item_quality=None, item_length=None, item_appeal=None) -> Catalog:
    """A catalogue from your own texts. Quality and appeal default to 0 and length to 1 for every item."""
    n = len(item_texts)
    return Catalog(
        item_texts=list(item_texts),
        user_texts=list(user_texts),
        item_quality=np.zeros(n) if item_quality is None else np.asarray(item_quality, dtype=np.float64),
        item_length=np.ones(n) if item_length is None else np.asarray(item_length, dtype=np.float64),
        item_appeal=None if item_appeal is None else np.asarray(item_appeal, dtype=np.float64),
        name="custom",
    )


def build_catalog(config, split: str | None = None) -> Catalog:
    """The pool an :class:`~recsim_marl.config.EnvConfig` draws its worlds from (``split``: the config's
    unless given): the split's synthetic pool (``catalog_pool`` times the world's sizes), the split's
    MovieLens-100k movies and people, or the custom catalogue (a pool the size of the world: every world
    is that catalogue)."""
    if config.catalog == "synthetic":
        n = config.catalog_pool
        return synthetic_pool(n * config.num_items, n * config.num_users, split or config.split,
                              config.appeal_quality_correlation)
    if config.catalog == "movielens-100k":
        return movielens_pool(split or config.split, config.data_path)
    return custom_catalog(config.item_texts, config.user_texts)


__all__ = [
    "Catalog",
    "DatasetError",
    "build_catalog",
    "custom_catalog",
    "find_movielens",
    "movielens_pool",
    "split_of",
    "synthetic_catalog",
    "synthetic_pool",
]
