import os

import pytest

# the suite must pass offline: make any accidental hub access fail fast instead of waiting on the network
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _embedding_cache(tmp_path_factory):
    """One fresh embedding cache for the whole run: tests never depend on a cache left by someone else."""
    path = tmp_path_factory.mktemp("embedding-cache")
    old = os.environ.get("RECSIM_MARL_CACHE")
    os.environ["RECSIM_MARL_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("RECSIM_MARL_CACHE", None)
    else:
        os.environ["RECSIM_MARL_CACHE"] = old
