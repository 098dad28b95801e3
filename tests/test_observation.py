"""Every observation field, declared once (``recsim_marl.core.observation.FIELDS``), checked by value.

The expected values below are written from the state with plain tensor arithmetic, not with the
module's helpers, so a wrong formula in a field's computation fails here. Each group's expectations
must name exactly the fields of its table: a new field fails these tests until it has its check.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import recsim_marl
from recsim_marl.core import observation as obs_mod
from recsim_marl.models import _kernels

ROOT = Path(__file__).resolve().parents[1]


def _gather(per_item: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
    b, u, k = cand.shape
    return per_item.expand(b, -1).gather(1, cand.reshape(b, u * k)).view(b, u, k)


def expected_user_fields(venv) -> dict:
    s, w, c = venv.current, venv.catalogue, venv.config  # w: each world's catalogue, [B, I, ...]
    cand, l1 = s.candidates, c.num_levels - 1
    content = w.content[torch.arange(cand.shape[0])[:, None, None], cand]
    ctr = torch.where(s.impression_ma > 0, s.click_ma / s.impression_ma, torch.zeros_like(s.click_ma))
    return {
        "estimate": s.estimate,
        "history": s.history,
        "candidate_content": content,
        "candidate_relevance": (content * s.estimate.unsqueeze(2)).sum(-1),
        "candidate_familiarity": (content * s.history.unsqueeze(2)).sum(-1),
        "candidate_rating": _gather(s.rating, cand),
        "candidate_promotion": _gather(s.promotion.float() / l1, cand),
        "candidate_popularity": _gather(s.click_ma / s.click_ma.max(-1, keepdim=True).values, cand),
        "candidate_ctr": _gather(ctr.clamp(max=1.0), cand),
        "candidate_length": _gather(w.length / w.length.max(-1, keepdim=True).values, cand),
        "candidate_completion": _gather(torch.where(s.click_ma > 0, s.completion_ma / s.click_ma,
                                                    torch.zeros_like(s.click_ma)).clamp(max=1.0), cand),
        "candidate_age": _gather(s.age / c.max_cycles, cand),
        "progress": (s.t.float() / c.max_cycles)[:, None, None].expand(-1, c.num_users, 1),
        "click_rate": s.click_rate.unsqueeze(-1),
        "watch_rate": s.watch_rate.unsqueeze(-1),
        "visit_time": (s.visit_time / c.max_cycles).unsqueeze(-1),
        "present": s.present.float().unsqueeze(-1),
        "time_away": (s.away / c.max_cycles).unsqueeze(-1),
    }


def expected_item_fields(venv) -> dict:
    s, w, c = venv.current, venv.catalogue, venv.config
    b, i, l1 = s.funds.shape[0], c.num_items, c.num_levels - 1
    ctr = torch.where(s.impression_ma > 0, s.click_ma / s.impression_ma, torch.zeros_like(s.click_ma))
    return {
        "content": w.content,
        "funds_fraction": (s.funds / c.initial_funds).unsqueeze(-1),
        "level": (s.promotion.float() / l1).unsqueeze(-1),
        "impression_share": (s.impressions / s.impressions.sum(-1, keepdim=True)).unsqueeze(-1),
        "ctr": ctr.clamp(max=1.0).unsqueeze(-1),
        "mean_promotion": (s.promotion.float().mean(-1) / l1)[:, None, None].expand(b, i, 1),
        "time_fraction": (s.t.float() / c.max_cycles)[:, None, None].expand(b, i, 1),
        "age": (s.age / c.max_cycles).unsqueeze(-1),
        "quality": w.quality.unsqueeze(-1),
        "appeal": w.appeal.unsqueeze(-1),
        "trending_content": w.content[torch.arange(b), s.click_ma.argmax(-1)].unsqueeze(1).expand(b, i, -1),
        **expected_drafts(venv),
    }


def expected_drafts(venv) -> dict:
    """The drafts each creator is offered, drawn independently with the reference's hash (element j * M + m
    of the (seed, episode, step, DRAFTS) stream, modulo the pool)."""
    from recsim_marl.reference import _hash, _key
    from recsim_marl.rng import Purpose

    s, c, pool = venv.current, venv.config, venv.world
    m, i = c.num_drafts, c.num_items
    idx = torch.stack([torch.as_tensor(_hash(_key(int(s.seed[b]), int(s.episode[b]), int(s.t[b]), Purpose.DRAFTS),
                                             np.arange(i * m)) % pool.pool_items).view(i, m) for b in range(len(s.t))])
    q, a = pool.quality[idx], pool.appeal[idx]
    cost = c.quality_cost * q.clamp(min=0) ** 2 + c.appeal_cost * a.clamp(min=0) ** 2
    return {"draft_content": pool.content[idx], "draft_quality": q, "draft_appeal": a,
            "draft_cost": cost / c.initial_funds}


def expected_state_fields(venv) -> dict:
    s, c = venv.current, venv.config
    return {
        "interest_mean": s.interest.mean(1),
        "interest_std": (s.interest - s.interest.mean(1, keepdim=True)).pow(2).mean(1).sqrt(),
        "estimate_mean": s.estimate.mean(1),
        "estimate_std": (s.estimate - s.estimate.mean(1, keepdim=True)).pow(2).mean(1).sqrt(),
        "budget": s.budget.clamp(min=0) / c.initial_budget,
        "alive": s.alive.float(),
        "present": s.present.float(),
        "memory": s.memory,
        "trust": s.trust,
        "promotion": s.promotion.float() / (c.num_levels - 1),
        "funds_fraction": s.funds / c.initial_funds,
        "impression_share": s.impressions / s.impressions.sum(-1, keepdim=True),
        "time_fraction": (s.t.float() / c.max_cycles).unsqueeze(-1),
    }


EXPECTED = {"users": expected_user_fields, "items": expected_item_fields, "state": expected_state_fields}


@pytest.fixture(scope="module")
def lived_in():
    """Three ``retention`` worlds with creators after 40 steps of random recommendations, promotions and
    publications: people have clicked, some are away, items hold different levels, click histories and
    ages (every field of the table is in this world)."""
    venv = recsim_marl.make_vec(num_envs=3, scenario="retention", num_users=12, num_items=48, embed_dim=8,
                                initial_budget=4.0, promotion_cost=0.05, encoder="hash", num_drafts=2,
                                quality_cost=0.05, appeal_cost=0.02, upkeep=0.01)
    venv.reset(seed=11)
    gen = torch.Generator().manual_seed(5)
    for _ in range(40):
        items = torch.randint(0, 4, (3, 48), generator=gen)  # promotion levels; one creator in four publishes
        items += 4 * torch.randint(1, 3, (3, 48), generator=gen) * (torch.rand(3, 48, generator=gen) < 0.25)
        venv.step({"users": torch.randint(0, 10, (3, 12), generator=gen), "items": items})
    s = venv.current
    assert (s.age < s.t.unsqueeze(-1)).any() and (s.age > 0).any(), "some items must be new, some old"
    assert (~s.present & s.alive).any() and (s.away > 0).any(), "someone must be away"
    assert (s.promotion > 0).any() and (s.click_ma > 0).any() and (s.impressions > 0).any()
    assert (s.completion_ma < s.click_ma).any() and (s.watch_rate < s.click_rate).any(), "someone was disappointed"
    assert (s.visit_time > 0).any() and (s.visit_time < s.t.unsqueeze(-1)).any(), "someone is in a later visit"
    assert (s.t > 0).all() and s.present.any()
    return venv


@pytest.mark.parametrize("group", ["users", "items", "state"])
def test_every_field_has_its_value(lived_in, group):
    venv = lived_in
    expected = EXPECTED[group](venv)
    assert set(expected) == set(obs_mod.fields_of(group)), "each field of the table needs its expected value here"
    obs = venv.state() if group == "state" else venv.observe()[group]
    lay = venv.layouts[group]
    for f in obs_mod.FIELDS[group]:
        got = lay.read(obs, f.name)
        want = expected[f.name].reshape(got.shape)  # a field of shape (1,) reads as [..., 1]
        assert got.shape[-len(f.dims(venv.config)):] == f.dims(venv.config), f.name
        assert torch.allclose(got, want, atol=1e-6), (group, f.name, float((got - want).abs().max()))
        lo, hi = f.limits(venv.config)
        assert float(got.min()) >= lo and float(got.max()) <= hi, (group, f.name)
        assert (lay.low[lay[f.name]] == np.float32(lo)).all() and (lay.high[lay[f.name]] == np.float32(hi)).all()
        assert f.meaning.strip(), f.name


def test_hand_computed_fields_of_one_small_world():
    # one world, 2 people, 12 items (K = 4), one step: each person is shown their first candidate, nobody
    # clicks (click_bias -50), item 1 buys level 3 of 3 for free
    venv = recsim_marl.make_vec(num_envs=1, scenario="tiny", num_users=2, encoder="hash", click_bias=-50.0,
                                promotion_cost=0.0, popularity_rate=0.5, initial_funds=10.0)
    venv.reset(seed=0)
    shown = venv.current.candidates[0, :, 0]  # [2] the two items recommended
    obs, *_ = venv.step({"users": torch.zeros(1, 2, dtype=torch.long), "items": torch.tensor([[0, 3] + [0] * 10])})
    s, lay = venv.current, venv.layouts["items"]
    # impression share: 2 impressions in all, so an item shown to one person has 1/2, to both 2/2
    share = lay.read(obs["items"], "impression_share")[0, :, 0]
    assert torch.equal(share, torch.bincount(shown, minlength=12).float() / 2)
    # impression moving average 0.5 * (impressions), click moving average 0: every CTR is 0 / x = 0
    assert float(s.impression_ma[0, shown[0]]) >= 0.5 and (lay.read(obs["items"], "ctr") == 0).all()
    # item 1 holds level 3 of L - 1 = 3 -> 1.0; the mean over 12 items is 1 / 12
    assert lay.read(obs["items"], "level")[0, 1, 0] == 1.0
    assert torch.allclose(lay.read(obs["items"], "mean_promotion")[0, :, 0], torch.full((12,), 1 / 12))
    # t = 1 of max_cycles 25 -> 0.04, in the user and the item observations alike
    assert torch.allclose(venv.layouts["users"].read(obs["users"], "progress"), torch.tensor(0.04))
    assert torch.allclose(lay.read(obs["items"], "time_fraction"), torch.tensor(0.04))
    # funds: 10 - 0 (free promotion) + 0 clicks = 10 -> fraction 1
    assert torch.equal(lay.read(obs["items"], "funds_fraction"), torch.ones(1, 12, 1))
    # nobody clicked: popularity 0 / max(0, 1e-6) = 0 and the click rate stays 0
    ulay = venv.layouts["users"]
    assert (ulay.read(obs["users"], "candidate_popularity") == 0).all()
    assert (ulay.read(obs["users"], "click_rate") == 0).all()


@pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")
def test_kernel_writes_every_field_as_torch_does(lived_in):
    venv = lived_in
    s, lay = venv.current, venv.layouts["users"]
    fast = obs_mod.user_observation(venv.catalogue, venv.config, s, s.candidates, lay, backend="kernel")
    slow = obs_mod.user_observation(venv.catalogue, venv.config, s, s.candidates, lay, backend="torch")
    for f in obs_mod.USER_FIELDS:
        a, b = lay.read(fast, f.name), lay.read(slow, f.name)
        # dot products: float32 sums in another order; everything else is copied
        assert torch.allclose(a, b, atol=1e-6) if f.kind == "affinity" else torch.equal(a, b), f.name


def test_derived_lists_come_from_the_table():
    from agents.baselines import ranker_features
    from agents.networks import candidate_fields, context_fields

    config = recsim_marl.make_config("tiny")
    for c in (config, recsim_marl.make_config("creators")):  # the fields each world has
        kinds = {f.name: f.kind for f in obs_mod.USER_FIELDS if f.present(c)}
        assert set(candidate_fields(c)) == set(ranker_features(c)) == {
            n for n, k in kinds.items() if k in ("affinity", "candidate")}
        assert set(context_fields(c)) == {n for n, k in kinds.items() if k == "person"}
    assert "candidate_age" in candidate_fields(recsim_marl.make_config("creators"))
    assert "candidate_age" not in candidate_fields(config)
    state = recsim_marl.observation_layout(config)["state"]
    for group, n in (("users", config.num_users), ("items", config.num_items)):
        assert obs_mod.PER_AGENT_STATE[group]
        assert all(state.shape(f) == (n,) for f in obs_mod.PER_AGENT_STATE[group])
    # a user observation is 2D + K (D + number of candidate features) + number of person scalars
    d, k = config.embed_dim, config.num_candidates
    scalars = sum(1 for f in obs_mod.USER_FIELDS if f.kind == "person" and f.shape == (1,))
    assert recsim_marl.observation_layout(config)["users"].size == 2 * d + k * (d + len(candidate_fields(config))) + scalars


def test_docs_page_is_generated_from_the_table():
    spec = importlib.util.spec_from_file_location("make_observations", ROOT / "docs" / "make_observations.py")
    page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(page)
    assert (ROOT / "docs" / "observations.md").read_text() == page.render(), \
        "docs/observations.md is out of date: run python docs/make_observations.py"
    for group in obs_mod.FIELDS:
        for f in obs_mod.FIELDS[group]:
            assert f"`{f.name}`" in page.render() and f.meaning in page.render()
