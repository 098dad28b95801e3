"""Pure tensor functions of the simulated world: user model, items' market, retrieval."""

from recsim_marl.models import market, retrieval, user

__all__ = ["market", "retrieval", "user"]
