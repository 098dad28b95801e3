import contextlib
import os

import pytest

# the suite must pass offline: make any accidental hub access fail fast instead of waiting on the network
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# under pytest-xdist (``-n 2``) each worker process is one of the machine's cores: one torch thread
# each, so two workers never fight over the same cores (a test that is about threads sets its own)
if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    torch.set_num_threads(1)


@contextlib.contextmanager
def _environment(name: str, value: str):
    """``os.environ[name] = value`` for the block, then as it was."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@pytest.fixture(scope="session", autouse=True)
def _embedding_cache(tmp_path_factory):
    """One fresh embedding cache for the whole run, shared by xdist workers (writes are atomic and two
    builders of one file agree): tests never depend on a cache left by someone else."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "embedding-cache"
    path.mkdir(exist_ok=True)
    with _environment("RECSIM_MARL_CACHE", str(path)):
        yield path


@pytest.fixture(scope="session", autouse=True)
def _sb3_log_dir(tmp_path_factory):
    """Stable-Baselines3 makes a log folder for every ``learn()`` (``/tmp/SB3-<date>`` unless
    ``SB3_LOGDIR`` says where): keep the suite's inside its own temporary folder."""
    path = tmp_path_factory.mktemp("sb3-logs")
    with _environment("SB3_LOGDIR", str(path)):
        yield path
