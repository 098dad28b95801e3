"""Checkpoint files: atomic writes, safe reads, and the run state they carry.

- :func:`save_checkpoint` writes atomically (temporary file, fsync, rename), so an interrupted write
  never leaves an unreadable checkpoint; the file gets the usual permissions (0666 minus the umask).
- A checkpoint is ``MAGIC``, the SHA-256 of the rest, then the ``torch.save`` bytes: one flipped byte
  anywhere (a bad disk, a copy cut short) is refused on load instead of loading a changed weight.
- :func:`load_checkpoint` reads with ``torch.load(weights_only=True)``: a checkpoint holds only
  tensors, dicts, lists, tuples, numbers, strings and None, and any other pickled object (which could
  run code when unpickled) is refused. It also checks the checkpoint belongs to this algorithm and world.
- Every checkpoint records the observation fields it was trained on (``observation``: field names per
  group, from ``recsim_marl.core.observation.FIELDS``); one from a version with other fields is refused
  with the fields that differ (its networks read another layout).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import uuid
from pathlib import Path

import torch

CHECKPOINT_FORMAT = 1
MAGIC = b"RSMCKPT1"
"""The first bytes of a checksummed checkpoint (files without them are read unchecked, as before)."""


class CheckpointError(ValueError):
    """A checkpoint is unreadable, truncated, unsafe, or belongs to a different algorithm, world or run."""


def observation_fields(env_config: dict | None = None) -> dict[str, list[str]]:
    """This version's observation fields per group (what a checkpoint's networks read) in worlds of
    ``env_config`` (a checkpoint's plain-data config): the rows of the table those worlds have, so that
    a field added with a mechanism leaves the checkpoints of worlds without it readable."""
    from recsim_marl.config import EnvConfig, _normalise
    from recsim_marl.core.observation import FIELDS

    config = None
    if env_config is not None:
        names = {f.name for f in dataclasses.fields(EnvConfig)}
        config = EnvConfig(**_normalise({k: v for k, v in env_config.items() if k in names and k != "user_model"}))
    return {group: [f.name for f in fields if config is None or f.present(config)] for group, fields in FIELDS.items()}


def check_observation(ck: dict, path) -> None:
    """Refuse a checkpoint written for other observation fields, naming them."""
    stored, now = ck.get("observation"), observation_fields(ck.get("env_config"))
    if stored == now:
        return
    if stored is None:
        raise CheckpointError(
            f"checkpoint {path} was written by an older recsim_marl that did not record its observation fields; "
            f"this version's observations have other fields (users: {', '.join(now['users'])}), so its networks "
            "cannot read them: train again, or evaluate it with the recsim_marl version that wrote it")
    diff = []
    for group in sorted(set(now) | set(stored)):
        added = [f for f in now.get(group, []) if f not in stored.get(group, [])]
        gone = [f for f in stored.get(group, []) if f not in now.get(group, [])]
        if added or gone or now.get(group) != stored.get(group):
            diff.append(f"{group}: added {added or 'none'}, removed {gone or 'none'}")
    raise CheckpointError(
        f"checkpoint {path} was trained on other observation fields ({'; '.join(diff)}): its networks cannot read "
        "this version's observations; train again, or use the recsim_marl version that wrote it")


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically: a crash mid-write leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # mode 0666 minus the umask, like open()
    try:
        buf = io.BytesIO()
        torch.save({"format": CHECKPOINT_FORMAT, "observation": observation_fields(payload.get("env_config")), **payload},
                   buf)
        body = buf.getvalue()
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(body).digest() + body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(path: str | Path, algorithm: str | None = None, env_config: dict | None = None) -> dict:
    """Read a checkpoint (tensors and plain data only) and check it was written by ``algorithm`` for the
    same world config."""
    import pickle

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read ({exc})") from exc
    source: io.BytesIO | Path = path  # a file written before checksums: read unchecked
    if raw.startswith(MAGIC):
        digest, body = raw[len(MAGIC):len(MAGIC) + 32], raw[len(MAGIC) + 32:]
        if hashlib.sha256(body).digest() != digest:
            raise CheckpointError(
                f"checkpoint {path} is unreadable or truncated: its SHA-256 checksum does not match its contents "
                "(a changed byte, a damaged disk or an incomplete copy); use another copy or train again"
            )
        source = io.BytesIO(body)
    try:
        ck = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" not in str(exc) and "Weights only load failed" not in str(exc):
            raise CheckpointError(f"checkpoint {path} is unreadable or truncated (UnpicklingError: {exc})") from exc
        first = str(exc).strip().splitlines()
        detail = next((ln.strip() for ln in first if "Unsupported" in ln or "global" in ln.lower()), first[0] if first else "")
        raise CheckpointError(
            f"checkpoint {path} holds Python objects other than tensors and plain data ({detail}); "
            "recsim_marl refuses to unpickle them because unpickling can run arbitrary code. "
            "A recsim_marl checkpoint never contains such objects: this file was not written by "
            "recsim_marl or was tampered with. Load only checkpoints you made or trust."
        ) from exc
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"checkpoint {path} is unreadable or truncated ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a recsim_marl checkpoint (format {CHECKPOINT_FORMAT})")
    if algorithm is not None and ck.get("algorithm") != algorithm:
        raise CheckpointError(f"checkpoint {path} was written by {ck.get('algorithm')!r}, not {algorithm!r}")
    check_observation(ck, path)
    if env_config is not None:
        from recsim_marl.config import EnvConfig

        # a field the checkpoint does not name is one added since: it had the value that leaves it off
        default = {f.name: f.default for f in dataclasses.fields(EnvConfig)}
        stored = ck.get("env_config", {})
        diff = sorted(k for k in env_config if stored.get(k, default.get(k)) != env_config[k])
        if diff:
            raise CheckpointError(
                f"checkpoint {path} is for a different world config (differs in: {', '.join(diff)}); "
                "resume with the same scenario and overrides"
            )
    return ck


def config_dict(config) -> dict:
    """The config as plain data (a user model instance by its class path), for checkpoints."""
    out = dict(dataclasses.asdict(config))
    if not isinstance(config.user_model, str):
        out["user_model"] = f"{type(config.user_model).__module__}.{type(config.user_model).__qualname__}"
    return out


def state_tensors(venv) -> dict:
    """The env's dynamic state as a dict of CPU tensors (checkpointable)."""
    s = venv.get_state()
    return {f.name: getattr(s, f.name).cpu() for f in dataclasses.fields(s)}


def restore_state(venv, tensors: dict) -> None:
    from recsim_marl.core.state import State

    venv.set_state(State(**tensors))
