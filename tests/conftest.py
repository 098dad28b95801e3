import os

import pytest


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
