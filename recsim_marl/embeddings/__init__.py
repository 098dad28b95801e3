"""Texts to unit vectors with ``transformers``; disk and device caches; PCA to ``embed_dim``."""

from recsim_marl.embeddings.cache import CacheStats, default_cache_dir, encode_cached
from recsim_marl.embeddings.encoder import (
    DEFAULT_MODEL,
    EncoderSpec,
    HashEncoder,
    HFEncoder,
    ModelNotAvailableError,
    load_encoder,
    resolve_encoder,
)
from recsim_marl.embeddings.pca import fit_pca, project

__all__ = [
    "DEFAULT_MODEL",
    "CacheStats",
    "EncoderSpec",
    "HFEncoder",
    "HashEncoder",
    "ModelNotAvailableError",
    "default_cache_dir",
    "encode_cached",
    "fit_pca",
    "load_encoder",
    "project",
    "resolve_encoder",
]
