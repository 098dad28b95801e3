"""Batched state, ``VecEnv.reset/step``, auto-reset, masks and metrics."""

from recsim_marl.core.observation import PER_AGENT_STATE, Layout, observation_layout
from recsim_marl.core.state import State
from recsim_marl.core.vec_env import GROUPS, VecEnv, make_vec
from recsim_marl.core.world import World, build_world

__all__ = ["GROUPS", "PER_AGENT_STATE", "Layout", "State", "VecEnv", "World", "build_world", "make_vec",
           "observation_layout"]
