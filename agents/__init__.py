"""Learners, baselines and evaluation for recsim_marl. Uses only recsim_marl's public API."""
