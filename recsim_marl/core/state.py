"""Dynamic state of a batch of B worlds: tensors only, batch dimension first (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from recsim_marl import rng
from recsim_marl.config import EnvConfig
from recsim_marl.core.world import Catalogue
from recsim_marl.models.user import TRAITS, UserModel, resolve_user_model


@dataclass
class State:
    """One batch of worlds. Shapes: B envs, U people, I items, K candidates, D dims.

    seed, episode, t ``[B]`` int64 (the keys of all randomness); interest, estimate, boredom, history
    ``[B, U, D]``; budget, click_rate, trust ``[B, U]`` float; traits ``[B, U, len(TRAITS)]`` (hidden
    per-person parameters, :data:`recsim_marl.models.user.TRAITS`); alive ``[B, U]`` bool (in the
    episode: not gone for good); present ``[B, U]`` bool (in a visit now; implies alive); memory, away,
    visits ``[B, U]`` float (satisfaction memory, steps since the last visit ended, visits started);
    watch_rate, visit_time ``[B, U]`` float (the platform's moving average of the share of each
    recommendation the person watched; steps into the current visit); rating, funds, impressions, clicks,
    impression_ma, click_ma, completion_ma ``[B, I]`` float (completion_ma: the moving average of the
    shares of the item its viewers watched, summed over them, as click_ma sums clicks); age ``[B, I]``
    float (steps since the slot's live item was published; the items of the first state have age 0);
    promotion ``[B, I]`` long;
    candidates ``[B, U, K]`` long; user_return, item_return ``[B]``: the episode's returns so far
    (mean over the group's agents); items ``[B, I]``, people ``[B, U]`` long: which pool items and
    people this world holds (:mod:`recsim_marl.core.world`): the people are fixed for the world, and so
    are the items unless creators publish or leave (``config.items_change``); every episode starts from
    the items the world drew.
    """

    seed: torch.Tensor
    episode: torch.Tensor
    t: torch.Tensor
    interest: torch.Tensor
    estimate: torch.Tensor
    boredom: torch.Tensor
    history: torch.Tensor
    budget: torch.Tensor
    click_rate: torch.Tensor
    trust: torch.Tensor
    traits: torch.Tensor
    alive: torch.Tensor
    present: torch.Tensor
    memory: torch.Tensor
    away: torch.Tensor
    visits: torch.Tensor
    watch_rate: torch.Tensor
    visit_time: torch.Tensor
    rating: torch.Tensor
    funds: torch.Tensor
    promotion: torch.Tensor
    impressions: torch.Tensor
    clicks: torch.Tensor
    impression_ma: torch.Tensor
    click_ma: torch.Tensor
    completion_ma: torch.Tensor
    age: torch.Tensor
    candidates: torch.Tensor
    user_return: torch.Tensor
    item_return: torch.Tensor
    items: torch.Tensor
    people: torch.Tensor

    def where(self, env_mask: torch.Tensor, other: State) -> State:
        """Per env: ``other`` where ``env_mask [B]`` is True, else self."""
        out = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            m = env_mask.reshape(-1, *([1] * (a.dim() - 1)))
            out[f.name] = torch.where(m, b, a)
        return State(**out)

    def replace_rows(self, rows: torch.Tensor, other: State) -> State:
        """A new state: env ``rows[j]`` taken from env ``j`` of ``other``, the others from self."""
        return State(**{f.name: getattr(self, f.name).index_copy(0, rows, getattr(other, f.name)) for f in fields(self)})

    def clone(self) -> State:
        return State(**{f.name: getattr(self, f.name).clone() for f in fields(self)})


def initial_state(world: Catalogue, config: EnvConfig, seed: torch.Tensor, episode: torch.Tensor,
                  model: UserModel | None = None) -> State:
    """The first state of episode ``episode [B]`` of the envs seeded ``seed [B]`` whose catalogues are
    ``world`` (candidates unset).

    True interest = normalize(profile + noise) with noise of norm ~ interest_noise; the platform's
    estimate starts at the profile; rating = quality + rating_noise * N(0, 1), fixed for the episode;
    each person's traits come from ``model.sample_traits`` (the env's user model), their budget is
    their ``budget`` trait, and trust starts full.
    """
    model = resolve_user_model(config.user_model) if model is None else model
    b = seed.shape[0]
    u, i, d = config.num_users, config.num_items, config.embed_dim
    dev = seed.device
    zero_t = torch.zeros_like(seed)
    noise = rng.normal(rng.stream_key(seed, episode, zero_t, rng.Purpose.INTEREST_NOISE), (u, d))
    interest = torch.nn.functional.normalize(
        world.profile + (config.interest_noise / d**0.5) * noise, dim=-1
    )
    rating = world.quality + config.rating_noise * rng.normal(
        rng.stream_key(seed, episode, zero_t, rng.Purpose.RATING_NOISE), (i,)
    )
    f32 = dict(device=dev, dtype=torch.float32)
    normal = rng.normal(rng.stream_key(seed, episode, zero_t, rng.Purpose.TRAITS), (u, len(TRAITS)))
    traits = model.sample_traits(config, normal, world.activity).to(torch.float32)
    return State(
        seed=seed,
        episode=episode,
        t=zero_t,
        interest=interest,
        estimate=world.profile.expand(b, u, d).clone(),
        boredom=torch.zeros(b, u, d, **f32),
        history=torch.zeros(b, u, d, **f32),
        budget=traits[..., TRAITS.index("budget")].clone(),
        click_rate=torch.zeros(b, u, **f32),
        trust=torch.ones(b, u, **f32),
        traits=traits,
        alive=torch.ones(b, u, device=dev, dtype=torch.bool),
        present=torch.ones(b, u, device=dev, dtype=torch.bool),
        memory=torch.zeros(b, u, **f32),
        away=torch.zeros(b, u, **f32),
        visits=torch.ones(b, u, **f32),
        watch_rate=torch.zeros(b, u, **f32),
        visit_time=torch.zeros(b, u, **f32),
        rating=rating,
        funds=torch.full((b, i), config.initial_funds, **f32),
        promotion=torch.zeros(b, i, device=dev, dtype=torch.long),
        impressions=torch.zeros(b, i, **f32),
        clicks=torch.zeros(b, i, **f32),
        impression_ma=torch.zeros(b, i, **f32),
        click_ma=torch.zeros(b, i, **f32),
        completion_ma=torch.zeros(b, i, **f32),
        age=torch.zeros(b, i, **f32),
        candidates=torch.zeros(b, u, config.num_candidates, device=dev, dtype=torch.long),
        user_return=torch.zeros(b, **f32),
        item_return=torch.zeros(b, **f32),
        items=world.items,
        people=world.people,
    )
