"""Counter-based random numbers keyed by (seed, episode, step, purpose).

Every random number the simulator draws is a pure function of the env's seed, its episode counter,
its step counter, a *purpose* tag and the element's index. Nothing is carried from call to call, so
env ``b`` of a batch draws exactly what a single env with the same seed draws, on any batch size and
any device, and a bad call that raises leaves no trace in any generator.

The mixer is a 32-bit integer hash (xor-shift / multiply, the finaliser family of MurmurHash3)
evaluated in int64 arithmetic with every product kept below 2**63, so it is exact on CPU and CUDA.
"""

from __future__ import annotations

from enum import IntEnum

import torch

_MASK32 = 0xFFFFFFFF
_MUL = 0x45D9F3B  # < 2**27: (x < 2**32) * _MUL < 2**59, no int64 overflow
_GOLDEN = 0x9E3779B1  # odd, < 2**32: Weyl increment between element indices
# the same increment modulo 2**32, as a value that fits int32: compiled kernels (torch.compile with
# Triton) may hold the element index in int32 and cannot take a larger constant; every use is masked
# to 32 bits, where (j * _GOLDEN_I32) and (j * _GOLDEN) agree
_GOLDEN_I32 = _GOLDEN - 2**32


class Purpose(IntEnum):
    """What a stream of random numbers is for; one tag per independent use."""

    INTEREST_NOISE = 1
    RATING_NOISE = 2
    CLICK = 3
    RETRIEVAL_USER = 4
    RETRIEVAL_ITEM = 5
    TRAITS = 6
    SATISFACTION = 7
    RETURN = 8
    CATALOGUE_ITEMS = 9
    CATALOGUE_PEOPLE = 10
    DRAFTS = 11
    DRAFT_RATING = 12
    ENTRANTS = 13
    ENTRANT_RATING = 14
    AD = 15
    LOOK = 16


def subset(key: torch.Tensor, pool: int, n: int) -> torch.Tensor:
    """``[B, n]`` int64: ``n`` distinct indices of ``range(pool)`` per key (a uniformly random subset, in
    a random order), each row a pure function of its key. Ties are impossible (each index's 32-bit
    hash is made unique by the index below it), so every device gives the same subset and order."""
    if not 1 <= n <= pool:
        raise ValueError(f"cannot draw {n} distinct indices out of {pool}")
    idx = torch.arange(pool, device=key.device, dtype=torch.int64)
    order = _hashes(key, pool) * pool + idx  # < 2**32 * pool: int64 for any pool below 2**31
    return torch.topk(order, n, dim=-1, largest=False, sorted=True).indices


def mix32(x: torch.Tensor) -> torch.Tensor:
    """Hash int64 values in [0, 2**32) to int64 values in [0, 2**32) (a bijection)."""
    x = x ^ (x >> 16)
    x = (x * _MUL) & _MASK32
    x = x ^ (x >> 16)
    x = (x * _MUL) & _MASK32
    return x ^ (x >> 16)


def stream_keys(
    seed: torch.Tensor, episode: torch.Tensor, step: torch.Tensor, purposes: tuple[int, ...]
) -> torch.Tensor:
    """One 32-bit key per purpose and env, int64 ``[P, B]``, hashed together (one pass for all purposes).

    ``seed``, ``episode``, ``step``: int64 ``[B]``. Row ``p`` equals ``stream_key(..., purposes[p])``.
    """
    low = seed & _MASK32
    k = mix32(torch.stack([low ^ ((int(p) * _GOLDEN) & _MASK32) for p in purposes]))
    k = mix32(k ^ ((seed >> 32) & _MASK32))
    k = mix32((k + (episode & _MASK32)) & _MASK32)
    return mix32((k + (step & _MASK32)) & _MASK32)


def stream_key(
    seed: torch.Tensor, episode: torch.Tensor, step: torch.Tensor, purpose: int
) -> torch.Tensor:
    """One 32-bit key per env. ``seed``, ``episode``, ``step``: int64 ``[B]``. Returns int64 ``[B]``."""
    return stream_keys(seed, episode, step, (purpose,))[0]


def _hashes(key: torch.Tensor, n: int) -> torch.Tensor:
    """``[B, n]`` int64 32-bit hashes; element ``(b, j)`` depends only on ``key[b]`` and ``j``."""
    idx = torch.arange(n, device=key.device, dtype=torch.int64)
    x = mix32((key[:, None] + idx * _GOLDEN_I32) & _MASK32)
    return mix32(x ^ key[:, None])


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def uniform(key: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Uniform float32 numbers in the open interval (0, 1).

    key: int64 ``[B]`` from :func:`stream_key` (or ``[P, B]`` from :func:`stream_keys`). Returns
    ``[*key.shape, *shape]``; element ``(..., b, j)`` depends only on its key and the flat index ``j``.
    """
    x = _hashes(key.reshape(-1), _numel(shape))
    # 24 high bits -> exactly representable float32 in (0, 1)
    u = ((x >> 8).to(torch.float32) + 0.5) * (1.0 / 16777216.0)
    return u.reshape(*key.shape, *shape)


def integers(key: torch.Tensor, high: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Integers int64 ``[B, *shape]`` in [0, high) (the 32-bit hash modulo ``high``: uniform to within
    ``high / 2**32``)."""
    return (_hashes(key, _numel(shape)) % high).reshape(key.shape[0], *shape)


def bits16(key: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Uniform 16-bit integers, int32 ``[B, *shape]`` in [0, 2**16) (the hash's high half)."""
    return (_hashes(key, _numel(shape)) >> 16).to(torch.int32).reshape(key.shape[0], *shape)


def normal(key: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Standard normal float32 ``[B, *shape]`` by the Box-Muller transform.

    One 32-bit hash per *pair* of normals: its two 16-bit halves are the two uniforms (radius and
    angle), so the tails are cut at 4.9 sigma, which is plenty for noise on profiles and ratings.
    """
    n = _numel(shape)
    x = _hashes(key, (n + 1) // 2)
    u1 = ((x >> 16).to(torch.float32) + 0.5) * (1.0 / 65536.0)
    u2 = ((x & 0xFFFF).to(torch.float32) + 0.5) * (1.0 / 65536.0)
    r = torch.sqrt(-2.0 * torch.log(u1))
    theta = (2.0 * torch.pi) * u2
    z = torch.cat([r * torch.cos(theta), r * torch.sin(theta)], dim=1)[:, :n]
    return z.reshape(key.shape[0], *shape)


def _one_seed(value, what: str) -> int:
    """A seed as a Python int in [0, 2**63), or an error naming ``what`` (e.g. ``seed`` or ``seed[3]``)."""
    import numbers

    if isinstance(value, torch.Tensor):
        if value.dim() != 0:
            raise TypeError(f"{what} must be an int, got a tensor of shape {tuple(value.shape)}")
        if value.dtype == torch.bool or value.dtype.is_floating_point or value.dtype.is_complex:
            raise TypeError(f"{what} must be an int, got a {value.dtype} tensor; pass an integer seed such as 0")
        value = int(value.item())
    elif hasattr(value, "dtype") and getattr(value, "shape", None) == ():  # numpy scalars and 0-d arrays
        if value.dtype.kind not in "iu":
            raise TypeError(f"{what} must be an int, got {value!r} ({value.dtype}); pass an integer seed such as 0")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an int (or one int per env), got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < 0:
        raise ValueError(f"{what}={value} is invalid: seeds must be >= 0")
    if value >= 2**63:
        raise ValueError(f"{what}={value} is invalid: seeds must be < 2**63")
    return value


def normalise_seeds(seed, num_envs: int) -> list[int]:
    """Per-env seeds as Python ints: an int gives ``seed + b`` for env ``b``; a sequence one seed per env.

    An int is a Python int, a numpy integer or a 0-d integer tensor; bools, floats, strings and values
    outside [0, 2**63) are refused with an error naming ``seed``. Nothing is changed by a refusal.
    """
    if isinstance(seed, (str, bytes)):
        raise TypeError(f"seed must be an int (or one int per env), got the string {seed!r}")
    scalar = not (isinstance(seed, torch.Tensor) and seed.dim() > 0) and (
        isinstance(seed, torch.Tensor) or getattr(seed, "shape", None) == () or not hasattr(seed, "__iter__")
    )
    if scalar:
        first = _one_seed(seed, "seed")
        values = [first + b for b in range(num_envs)]
        if values[-1] >= 2**63:
            raise ValueError(f"seed={first} is invalid: env {num_envs - 1} would get seed {values[-1]}; seeds must be < 2**63")
        return values
    items = seed.tolist() if isinstance(seed, torch.Tensor) or hasattr(seed, "tolist") else list(seed)
    values = [_one_seed(v, f"seed[{j}]") for j, v in enumerate(items)]
    if len(values) != num_envs:
        raise ValueError(f"seed: got {len(values)} seeds for {num_envs} envs; pass one per env or one int")
    return values


def seeds_tensor(seed, num_envs: int, device: torch.device | str) -> torch.Tensor:
    """Per-env seeds as int64 ``[num_envs]`` on ``device`` (see :func:`normalise_seeds`)."""
    return torch.tensor(normalise_seeds(seed, num_envs), dtype=torch.int64, device=device)
