"""Every option of the learners, as dataclasses (CleanRL-style ``Args``): :class:`RunArgs` (shared),
:class:`MappoArgs` and :class:`IqlArgs`. This module imports nothing heavy, so the command line can
build its help from these classes without loading torch.

Each field's docstring (the string under it) is its help text; ``agents.cli`` turns every field into
a flag (``total_steps`` -> ``--total-steps``, a bool ``value_norm`` -> ``--value-norm/--no-value-norm``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NOT_PART_OF_THE_RUN = frozenset({
    "total_steps", "log_dir", "resume", "progress", "tensorboard", "eval_episodes", "device",
    "checkpoint_every", "stop_after_updates", "stop_after_steps",
})
"""Options that may differ between a run and its resumption: where and how long it runs, how it
reports, not what it learns. Every other option must match the checkpoint's."""


@dataclass
class RunArgs:
    """The options every learner shares; each learner's ``Args`` adds its algorithm's own."""

    scenario: str = "boredom"
    """Scenario to train on (recsim_marl.SCENARIOS: default, tiny, boredom, marketplace, movielens-100k)."""
    env: dict = field(default_factory=dict)
    """Config overrides of the scenario, e.g. {"num_users": 32} (CLI: --env num_users=32, repeatable)."""
    learn: str = "users"
    """Groups to learn: 'users', 'items' or 'both'. The others follow the scripted policies below."""
    users_policy: str = "greedy"
    """Scripted user policy when users are not learned: random, greedy, popularity."""
    items_policy: str = "fixed:0"
    """Scripted item policy when items are not learned: random or fixed:LEVEL."""
    total_steps: int = 30_000
    """Environment steps summed over all envs (each moves every agent once)."""
    num_envs: int = 16
    """Worlds simulated in parallel."""
    hidden: int = 64
    """Hidden units of the networks."""
    agent_id: bool = False
    """Append a one-hot agent id to the policy / Q-network input."""
    seed: int = 0
    """Seeds the envs (env b gets seed + b), the networks and every sample the learner draws."""
    device: str = "cpu"
    """'cpu' or 'cuda'."""
    log_dir: str = "runs/learner"
    """TensorBoard events, scalars.csv, learning_curve.png and checkpoint.pt go here."""
    resume: bool = False
    """Continue from log_dir/checkpoint.pt; the result equals an uninterrupted run's."""
    eval_episodes: int = 5
    """Episodes (seeds 10000 + i) of the final deterministic evaluation; 0 skips it."""
    tensorboard: bool = True
    """Write TensorBoard event files (the CSV is always written)."""
    progress: bool = True
    """Show a progress bar with SPS and return."""


@dataclass
class MappoArgs(RunArgs):
    """MAPPO (agents/mappo.py): shared actor per group, centralised critic."""

    total_steps: int = 100_000
    """Environment steps summed over all envs (each moves every agent once)."""
    num_envs: int = 32
    """Worlds simulated in parallel."""
    log_dir: str = "runs/mappo"
    """TensorBoard events, scalars.csv, learning_curve.png and checkpoint.pt go here."""
    num_steps: int = 25
    """Rollout length per update."""
    lr: float = 1e-3
    """Adam learning rate (annealed linearly to 0)."""
    gamma: float = 0.95
    """Discount."""
    gae_lambda: float = 0.9
    """GAE lambda."""
    update_epochs: int = 4
    """Passes over each rollout (each in a fresh random minibatch order)."""
    num_minibatches: int = 4
    """Minibatches per pass (split over time x env, all agents of a group together)."""
    clip_coef: float = 0.2
    """PPO ratio clip, also used for the clipped value loss."""
    ent_coef: float = 0.01
    """Entropy bonus."""
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Gradient clipping."""
    value_norm: bool = True
    """Normalise value targets with running statistics (de-normalised for GAE)."""
    adv_norm: str = "per_agent"
    """Advantage normalisation: 'per_agent', 'group' (mixed over agents) or 'none'."""
    checkpoint_every: int = 10
    """Write the checkpoint every this many updates (and at the end)."""
    stop_after_updates: int | None = None
    """Stop early after this many updates (for tests of resuming); unset runs to total_steps."""


@dataclass
class IqlArgs(RunArgs):
    """Independent Q-learning (agents/iql.py): one shared Q-network per group."""

    log_dir: str = "runs/iql"
    """TensorBoard events, scalars.csv, learning_curve.png and checkpoint.pt go here."""
    buffer_size: int = 100_000
    """Replay capacity in agent transitions (per group), kept on the device."""
    batch_size: int = 512
    """Transitions per gradient step."""
    lr: float = 5e-4
    """Adam learning rate."""
    gamma: float = 0.95
    """Discount."""
    double_q: bool = True
    """Choose next actions with the online network, value them with the target network."""
    target_every: int = 100
    """Copy the online network into the target network every this many gradient steps."""
    eps_start: float = 1.0
    """Initial exploration rate."""
    eps_end: float = 0.05
    """Final exploration rate."""
    eps_fraction: float = 0.3
    """Fraction of training over which epsilon decays linearly."""
    learning_starts: int = 2_000
    """Environment steps (over all envs, and all ranks under torchrun) before the first gradient step."""
    gradient_steps: int = 1
    """Gradient steps per vectorised env step."""
    checkpoint_every: int = 500
    """Write the checkpoint (replay buffer included) every this many vectorised steps and at the end."""
    stop_after_steps: int | None = None
    """Stop early after this many vectorised steps (for tests of resuming); unset runs to total_steps."""
