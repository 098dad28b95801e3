"""Embedding caches: safetensors files on disk and one tensor per device in memory.

A list of texts is cached in blocks of 64 consecutive texts (:data:`BLOCK`), one file each, so lists
that share a prefix (catalogues of different sizes) share files. A block's disk key is a sha256 of the
encoder's identity (name, weights hash, pooling, max length) and its exact texts. A hit reads the file and never loads the model. A file that cannot be read, or whose
stored key, shape, width or checksum (sha256 of the tensor's bytes) do not match, is reported with a
warning naming the file and rebuilt. Files are written to a temporary name and renamed, so an
interrupted write never leaves a bad file. A cache folder that cannot be written (a read-only shared
cluster folder) is reported once and the embeddings are kept in memory for the process instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from recsim_marl.embeddings.encoder import LRU, EncoderSpec, load_encoder

FORMAT_VERSION = "2"  # 2: metadata holds the tensor's width and sha256

_MEMORY: LRU = LRU(512)  # block key -> embeddings (512 blocks: 32,768 texts), for folders that cannot be written
_UNWRITABLE: set[str] = set()  # folders already reported as unwritable


def default_cache_dir() -> Path:
    """$RECSIM_MARL_CACHE, else ~/.cache/recsim_marl."""
    env = os.environ.get("RECSIM_MARL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "recsim_marl"


def cache_key(spec: EncoderSpec, texts: list[str]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"v": FORMAT_VERSION, **spec.identity()}, sort_keys=True).encode())
    for t in texts:
        b = t.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


class CacheStats:
    """Counters for tests and benchmarks: hits, misses (encoded), rebuilt (bad file replaced)."""

    hits = 0
    misses = 0
    rebuilt = 0


def _read(path: Path, key: str, n: int) -> torch.Tensor | None:
    """The cached tensor, or None after a warning if the file is unusable."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        warnings.warn(f"embedding cache file {path} is corrupt ({exc}); rebuilding it", stacklevel=3)
        return None
    emb = tensors.get("embeddings")
    problem = None
    if meta.get("key") != key:
        problem = "its key does not match the texts/encoder it is named for"
    elif emb is None or emb.ndim != 2 or emb.shape[0] != n:
        problem = f"it holds {None if emb is None else tuple(emb.shape)}, expected {n} rows"
    elif meta.get("width") != str(emb.shape[1]):
        problem = f"its rows have width {emb.shape[1]}, but it was written with width {meta.get('width')}"
    elif meta.get("sha256") != tensor_sha256(emb):
        problem = "its values do not match the checksum stored with them"
    elif not torch.isfinite(emb).all():
        problem = "it holds non-finite values"
    if problem:
        warnings.warn(f"embedding cache file {path} is invalid: {problem}; rebuilding it", stacklevel=3)
        return None
    return emb.float()


def tensor_sha256(emb: torch.Tensor) -> str:
    """sha256 of a tensor's dtype, shape and bytes (what the cache stores and verifies)."""
    t = emb.detach().cpu().contiguous()
    h = hashlib.sha256(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _write(path: Path, key: str, emb: torch.Tensor, spec: EncoderSpec) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"key": key, "format": FORMAT_VERSION, "width": str(emb.shape[1]), "sha256": tensor_sha256(emb),
            **{k: str(v) for k, v in spec.identity().items()}}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        save_file({"embeddings": emb.contiguous()}, tmp, metadata=meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


BLOCK = 64
"""Texts per cache file. A list is cached in blocks of this many consecutive texts, each keyed by its own
texts, so lists that share a prefix share files: the synthetic catalogue of 1,024 items reuses the
files of the one of 256 (its first 256 texts), and a sweep over sizes encodes each text once."""


def _lookup(spec: EncoderSpec, texts: list[str], folder: Path, count: bool = True) -> tuple[str, Path, torch.Tensor | None]:
    """(key, path, embeddings or None) of one block; ``count`` adds the outcome to :class:`CacheStats`."""
    key = cache_key(spec, texts)
    path = folder / f"{key[:32]}.safetensors"
    if key in _MEMORY:
        CacheStats.hits += count
        return key, path, _MEMORY.get_or(key, None)  # (marks it recently used)
    if path.exists():
        emb = _read(path, key, len(texts))
        if emb is not None:
            CacheStats.hits += count
            return key, path, emb
        CacheStats.rebuilt += count
    CacheStats.misses += count
    return key, path, None


def _store(spec: EncoderSpec, key: str, path: Path, emb: torch.Tensor, folder: Path) -> None:
    try:
        _write(path, key, emb, spec)
    except OSError as exc:  # read-only or full folder: keep working from memory
        if str(folder) not in _UNWRITABLE:
            _UNWRITABLE.add(str(folder))
            warnings.warn(
                f"embedding cache folder {folder} cannot be written ({exc}); embeddings are kept in memory for "
                "this process only and will be encoded again next time. Point RECSIM_MARL_CACHE (or the "
                "config's cache_dir) at a writable folder to cache them on disk.",
                stacklevel=3,
            )
        _MEMORY.get_or(key, lambda: emb)


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive lock (``path``, a lock file in the cache folder) while blocks are encoded and
    written. Where nothing can be locked (a read-only folder, no ``fcntl``), nothing is: concurrent
    builders still agree, they only repeat the work."""
    handle = None
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")
        fcntl.flock(handle, fcntl.LOCK_EX)
    except (ImportError, OSError):  # no fcntl, a read-only folder, a file system without flock (NFS, Lustre)
        if handle is not None:
            handle.close()
        handle = None
    try:
        yield
    finally:
        if handle is not None:
            handle.close()  # closing releases the lock


def encode_cached(spec: EncoderSpec, texts: list[str], cache_dir: str | Path | None = None,
                  loader=None) -> torch.Tensor:
    """Embeddings ``[N, H]`` (float32, CPU, unit rows) of ``texts``, from the disk cache when possible.

    The list is cached in blocks of :data:`BLOCK` texts; the blocks not in the cache are encoded in one
    call (one model load, one progress bar). ``loader``: a callable giving the encoder (default
    :func:`load_encoder`), for callers that encode several lists and want one model load."""
    texts = list(texts)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    blocks = [texts[i:i + BLOCK] for i in range(0, len(texts), BLOCK)] or [texts]
    found = [_lookup(spec, block, folder) for block in blocks]
    absent = {j for j, (_, path, emb) in enumerate(found) if emb is None and not path.exists()}  # not bad: absent
    first = next((key for key, _, emb in found if emb is None), None)
    if first is not None:
        # processes building the same world at once (env runners, ranks) encode it once: they wait on
        # the lock of its first missing block; builders of other texts go on in parallel
        with _lock(folder / f"{first[:32]}.lock"):
            for j, (_, path, emb) in enumerate(found):
                if emb is None and j in absent and path.exists():  # another process wrote it meanwhile
                    found[j] = _lookup(spec, blocks[j], folder, count=False)
                    if found[j][2] is not None:  # read, not encoded: count it as a hit
                        CacheStats.misses -= 1
                        CacheStats.hits += 1
            missing = [j for j, (_, _, emb) in enumerate(found) if emb is None]
            new = (loader or load_encoder)(spec).encode([t for j in missing for t in blocks[j]]) if missing else None
            start = 0
            for j in missing:
                key, path, _ = found[j]
                emb = new[start:start + len(blocks[j])].clone()  # its own storage, not a view of all
                start += len(blocks[j])
                _store(spec, key, path, emb, folder)
                found[j] = (key, path, emb)
    parts = [emb for _, _, emb in found]
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def clear_memory() -> None:
    """Forget in-memory embeddings and which folders were reported unwritable."""
    _MEMORY.clear()
    _UNWRITABLE.clear()
