"""The per-person numpy reference implementation is the oracle of the vectorized core."""

import numpy as np
import pytest
import torch

import recsim_marl
from recsim_marl.reference import ReferenceSim


def reference_for(venv, seed):
    return ReferenceSim.from_world(venv.config, venv.world, seed)


@pytest.mark.parametrize("scenario, kw", [
    ("tiny", {}),
    ("tiny", dict(num_users=8, num_items=40, num_candidates=6, embed_dim=16, promotion_cost=0.4, initial_funds=1.0,
                  promotion_boost=0.3, team_mixing=0.3, initial_budget=6.0, click_promotion=2.0, trust_loss=0.5)),
    ("default", dict(num_users=16, max_cycles=12)),
    ("tiny", dict(num_users=8, return_rate=0.3, initial_budget=3.0, max_cycles=40, trust_loss=0.5, click_promotion=2.0,
                  return_reward=0.5, team_mixing=0.2)),
    ("movielens-100k", dict(num_users=20, num_items=60, max_cycles=30, initial_budget=3.0, return_rate=0.2)),
    # ads: a sponsored candidate displaces the pick at a share of steps
    ("tiny", dict(num_users=8, num_items=40, num_candidates=6, ad_load=0.5, click_promotion=2.0, promotion_cost=0.1,
                  trust_loss=0.5, return_rate=0.2, initial_budget=4.0, max_cycles=30)),
])
def test_core_follows_the_reference_trajectory(scenario, kw):
    venv = recsim_marl.make_vec(num_envs=1, scenario=scenario, **kw)
    c = venv.config
    seed = 11
    venv.reset(seed=seed)
    ref = reference_for(venv, seed)
    gen = np.random.default_rng(0)
    returns = ads = 0
    for t in range(c.max_cycles - 1):  # one episode (the reference does not auto-reset)
        s = venv.current
        assert np.array_equal(np.stack([p.candidates for p in ref.people]), s.candidates[0].numpy()), t
        np.testing.assert_allclose(np.stack([p.interest for p in ref.people]), s.interest[0].numpy(), atol=2e-5)
        np.testing.assert_allclose(np.stack([p.budget for p in ref.people]), s.budget[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([it.funds for it in ref.items], s.funds[0].numpy(), atol=2e-5)
        np.testing.assert_allclose(np.stack([p.boredom for p in ref.people]), s.boredom[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([p.trust for p in ref.people], s.trust[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([p.memory for p in ref.people], s.memory[0].numpy(), atol=2e-5)
        assert [p.present for p in ref.people] == s.present[0].tolist(), t
        assert [p.alive for p in ref.people] == s.alive[0].tolist(), t
        np.testing.assert_allclose(np.stack([p.history for p in ref.people]), s.history[0].numpy(), atol=2e-5)
        np.testing.assert_allclose(np.stack([p.estimate for p in ref.people]), s.estimate[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([p.click_rate for p in ref.people], s.click_rate[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([p.watch_rate for p in ref.people], s.watch_rate[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([p.visit_time for p in ref.people], s.visit_time[0].numpy())
        np.testing.assert_allclose([p.away for p in ref.people], s.away[0].numpy())
        np.testing.assert_allclose([p.visits for p in ref.people], s.visits[0].numpy())
        np.testing.assert_allclose([it.completion_ma for it in ref.items], s.completion_ma[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([it.click_ma for it in ref.items], s.click_ma[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([it.impression_ma for it in ref.items], s.impression_ma[0].numpy(), atol=2e-5)
        ua = gen.integers(c.num_candidates, size=c.num_users)
        ia = gen.integers(c.num_levels, size=c.num_items)
        ur, ir, term, clicked = ref.step(ua, ia)
        _, rew, vterm, _, info = venv.step({"users": torch.as_tensor(ua)[None], "items": torch.as_tensor(ia)[None]})
        assert np.array_equal(clicked, info["clicked"][0].numpy()), t
        assert np.array_equal(term, vterm["users"][0].numpy()), t
        assert np.array_equal(ref.sponsored, info["sponsored"][0].numpy()), t
        np.testing.assert_allclose(ur, rew["users"][0].numpy(), atol=2e-5)
        np.testing.assert_allclose(ir, rew["items"][0].numpy(), atol=2e-5)
        returns += int(info["metrics"]["returns"].sum())
        ads += int(info["sponsored"].sum())
        if not any(p.alive for p in ref.people):
            break
    if c.return_rate > 0:
        assert returns > 0  # the sessions case did exercise returns
    assert (ads > 0) == (c.ad_load > 0)  # the ads case did show ads


@pytest.mark.parametrize("kw", [
    # creators publish (drafts, costs, levels clamped to what is left), leave and enter, new items boosted
    dict(num_drafts=3, upkeep=0.4, initial_funds=2.0, quality_cost=0.6, appeal_cost=0.2, new_item_boost=0.4,
         new_item_steps=4, promotion_cost=0.3, max_cycles=25),
    # and the platform's review refuses drafts rated below 0; ads billed while upkeep runs funds out
    dict(num_drafts=2, upkeep=0.2, initial_funds=2.0, quality_cost=0.3, appeal_cost=0.1, quality_gate=0.0, max_cycles=25,
         ad_load=0.4, promotion_cost=0.0),
    # leaving without drafts: only newcomers change the items
    dict(upkeep=0.3, initial_funds=1.0, max_cycles=25, new_item_boost=0.2),
])
def test_core_follows_the_reference_when_creators_publish_leave_and_enter(kw):
    venv = recsim_marl.make_vec(num_envs=1, scenario="tiny", num_users=8, num_items=30, **kw)
    c = venv.config
    venv.reset(seed=23)
    ref = reference_for(venv, 23)
    gen = np.random.default_rng(1)
    published = entered = 0
    for t in range(c.max_cycles - 1):
        s = venv.current
        assert np.array_equal(np.stack([p.candidates for p in ref.people]), s.candidates[0].numpy()), t
        np.testing.assert_allclose([it.funds for it in ref.items], s.funds[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([it.rating for it in ref.items], s.rating[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([it.age for it in ref.items], s.age[0].numpy())
        np.testing.assert_allclose(np.stack([it.content for it in ref.items]), venv.catalogue.content[0].numpy())
        np.testing.assert_allclose([it.click_ma for it in ref.items], s.click_ma[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([it.impression_ma for it in ref.items], s.impression_ma[0].numpy(), atol=2e-5)
        assert [it.level for it in ref.items] == s.promotion[0].tolist(), t
        ua = gen.integers(c.num_candidates, size=c.num_users)
        ia = gen.integers(venv.num_actions["items"], size=c.num_items)  # unaffordable ones too: clamped
        ur, ir, term, clicked = ref.step(ua, ia)
        _, rew, vterm, _, info = venv.step({"users": torch.as_tensor(ua)[None], "items": torch.as_tensor(ia)[None]})
        assert np.array_equal(clicked, info["clicked"][0].numpy()), t
        np.testing.assert_allclose(ur, rew["users"][0].numpy(), atol=2e-5)
        np.testing.assert_allclose(ir, rew["items"][0].numpy(), atol=2e-5)
        published += int(info["published"].sum())
        entered += int(info["entered"].sum())
        if not any(p.alive for p in ref.people):
            break
    assert entered > 0 and (published > 0 or not c.num_drafts)  # both mechanisms did happen


@pytest.mark.parametrize("choice_model", ["cascade", "pbm", "mnl"])
def test_core_follows_the_reference_when_people_choose_from_slates(choice_model):
    """Slates of S = 3 (repeats included: a candidate shown higher up leaves its slot empty), each choice
    model, with promotion marks, returns and team mixing in play."""
    venv = recsim_marl.make_vec(num_envs=1, scenario="tiny", num_users=8, num_items=30, num_candidates=6, slate_size=3,
                                choice_model=choice_model, position_bias=0.6, look_cost=0.2, return_rate=0.2,
                                initial_budget=4.0, click_promotion=2.0, trust_loss=0.5, team_mixing=0.2,
                                max_cycles=30, validate=False)
    c = venv.config
    venv.reset(seed=5)
    ref = reference_for(venv, 5)
    gen = np.random.default_rng(2)
    chosen = np.zeros(c.slate_size + 1)
    for t in range(c.max_cycles - 1):
        s = venv.current
        assert np.array_equal(np.stack([p.candidates for p in ref.people]), s.candidates[0].numpy()), t
        for name in ("interest", "budget", "boredom", "trust", "history", "estimate", "click_rate", "watch_rate"):
            np.testing.assert_allclose(np.stack([getattr(p, name) for p in ref.people]), getattr(s, name)[0].numpy(),
                                       atol=2e-5, err_msg=f"{name} at step {t}")
        assert [p.present for p in ref.people] == s.present[0].tolist(), t
        np.testing.assert_allclose([it.impression_ma for it in ref.items], s.impression_ma[0].numpy(), atol=2e-5)
        np.testing.assert_allclose([it.click_ma for it in ref.items], s.click_ma[0].numpy(), atol=2e-5)
        ua = gen.integers(c.num_candidates, size=(c.num_users, c.slate_size))
        ia = gen.integers(c.num_levels, size=c.num_items)
        ur, ir, term, clicked = ref.step(ua, ia)
        _, rew, vterm, _, info = venv.step({"users": torch.as_tensor(ua)[None], "items": torch.as_tensor(ia)[None]})
        assert np.array_equal(clicked, info["clicked"][0].numpy()), t
        assert np.array_equal(term, vterm["users"][0].numpy()), t
        np.testing.assert_allclose(ur, rew["users"][0].numpy(), atol=2e-5)
        np.testing.assert_allclose(ir, rew["items"][0].numpy(), atol=2e-5)
        for k in info["chosen"][0].tolist():
            chosen[k] += 1  # -1 (nothing chosen) counts in the last cell
        if not any(p.alive for p in ref.people):
            break
    assert (chosen[1:c.slate_size] > 0).all()  # lower slots were chosen too
