"""Which seeds are for what: named once, so no result is measured on seeds anything was chosen on.

A seed names one world-episode sequence (``VecEnv.reset(seed=s)`` gives env ``b`` the seed ``s + b``).
The ranges do not overlap for any batch or episode count used in this project:

- :data:`TRAINING_SEED`: learners train on seeds from here (``--seed``, 0 by default, plus the env
  index: ``num_envs`` seeds per run).
- :data:`TUNING_SEED`: scripted baselines with free parameters (the linear ranker's weights, the
  farsighted oracle's weight) are tuned on seeds 1,000-9,999.
- :data:`EVAL_SEED`: held-out evaluation seeds 10,000-49,999: a learner's final evaluation, the
  baseline tables, ``recsim-marl evaluate``. Nothing is tuned on them.
- :data:`FRESH_SEED`: 50,000 and up, kept for checks a skeptical reader runs once, after every choice
  was made.
"""

TRAINING_SEED = 0
TUNING_SEED = 1_000
EVAL_SEED = 10_000
FRESH_SEED = 50_000
