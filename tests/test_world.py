"""The world's hidden state stays hidden, people differ, and clicks are not satisfaction (docs/world.md)."""

import pytest
import torch

import recsim_marl
from recsim_marl.core.observation import USER_FIELDS
from recsim_marl.core.world import take
from recsim_marl.models.user import TRAITS

SMALL = {"tiny": {}, "movielens-100k": dict(num_users=40, num_items=120), "marketplace": dict(num_users=16, num_items=128)}
SCENARIOS = [(name, SMALL.get(name, dict(num_users=16, num_items=64))) for name in recsim_marl.SCENARIOS]


def _greedy_run(venv, steps, seed=0):
    obs = venv.reset(seed=seed)
    lay = venv.layouts["users"]
    seen = []
    for _ in range(steps):
        seen.append((obs, venv.get_state()))
        users = lay.read(obs["users"], "candidate_relevance").argmax(-1)
        items = torch.zeros(venv.num_envs, venv.num_agents["items"], dtype=torch.long)
        obs, *_ = venv.step({"users": users, "items": items})
    return seen


def _differs(a, b):
    """True when ``a`` is not ``b`` up to float rounding, nor ``b`` rescaled (a logged copy of a hidden value)."""
    a, b = a.flatten().double(), b.flatten().double()
    if torch.allclose(a, b, atol=1e-4):
        return False
    a, b = a - a.mean(), b - b.mean()
    if a.norm() < 1e-6 or b.norm() < 1e-6:  # one is constant: not allclose already means different
        return True
    return bool(torch.nn.functional.cosine_similarity(a, b, dim=0).abs() < 0.999)


@pytest.mark.parametrize("scenario, kw", SCENARIOS)
def test_no_observation_field_equals_a_hidden_state_variable(scenario, kw):
    venv = recsim_marl.make_vec(num_envs=2, scenario=scenario, **kw)
    lay = venv.layouts["users"]
    vectors = ("estimate", "history")
    scalars = tuple(f.name for f in USER_FIELDS if f.kind == "person" and f.shape == (1,))
    assert vectors == tuple(f.name for f in USER_FIELDS if f.kind == "person" and f.shape == ("D",))
    for obs, s in _greedy_run(venv, 8)[3:]:  # after a few steps, when the logs have something in them
        o = obs["users"]
        hidden_vec = {"interest": s.interest, "boredom": s.boredom}
        hidden_one = {"trust": s.trust, "budget": s.budget, "memory": s.memory,
                      **{f"trait {n}": s.traits[..., j] for j, n in enumerate(TRAITS)}}
        for f in vectors:
            for n, h in hidden_vec.items():
                assert _differs(lay.read(o, f), h), (scenario, f, n)
        for f in scalars:
            for n, h in hidden_one.items():
                if float(h.std()) == 0.0:  # a constant (e.g. full trust where nothing is sponsored) reveals nothing
                    continue
                assert _differs(lay.read(o, f).squeeze(-1), h), (scenario, f, n)
        # per candidate: the rating is not the quality, the relevance is not the hidden affinity
        w = venv.catalogue
        assert _differs(lay.read(o, "candidate_rating"), take(w.quality, s.candidates))
        cand = take(w.content, s.candidates)
        assert _differs(lay.read(o, "candidate_relevance"), (cand * s.interest.unsqueeze(2)).sum(-1))
        assert _differs(lay.read(o, "candidate_familiarity"), (cand * s.boredom.unsqueeze(2)).sum(-1))


def test_people_differ_in_hidden_traits_drawn_per_episode():
    venv = recsim_marl.make_vec(num_envs=2, scenario="default", num_users=32, num_items=64, return_rate=0.05)
    venv.reset(seed=3)
    tr = venv.current.traits  # [B, U, T]
    assert tr.shape == (2, 32, len(TRAITS))
    assert bool((tr.std(1) > 0).all())  # every trait varies across people
    assert not torch.equal(tr[0], tr[1])  # and across episodes (env seeds)
    budget = tr[..., TRAITS.index("budget")]
    assert torch.allclose(budget.log().median(), torch.tensor(20.0).log(), atol=0.5)
    same = recsim_marl.make_vec(num_envs=1, scenario="default", num_users=32, num_items=64, trait_spread=0.0,
                                click_bias_spread=0.0, return_rate=0.05, return_rate_spread=0.0)
    same.reset(seed=3)
    assert bool((same.current.traits.std(1) == 0).all())


def test_appeal_draws_clicks_but_not_satisfaction():
    # two worlds identical but for the weight of appeal: a clickbait-loving population clicks more on
    # appealing items, and their clicks disappoint at least as often
    base = dict(num_users=32, num_items=128, click_appeal=0.0)
    runs = {}
    for name, kw in (("blind", base), ("lured", {**base, "click_appeal": 3.0})):
        venv = recsim_marl.make_vec(num_envs=4, scenario="default", **kw)
        clicks = appeal_of_clicked = disappointed = 0.0
        obs = venv.reset(seed=0)
        for _ in range(20):
            users = torch.zeros(4, 32, dtype=torch.long)
            obs, r, te, tr, info = venv.step({"users": users, "items": torch.zeros(4, 128, dtype=torch.long)})
            c = info["clicked"].float()
            clicks += float(c.sum())
            appeal_of_clicked += float((take(venv.catalogue.appeal, info["recommended"]) * c).sum())
            disappointed += float((info["metrics"]["disappointment"] * info["metrics"]["clicks"]).sum())
        runs[name] = (appeal_of_clicked / clicks, disappointed / clicks)
    assert runs["lured"][0] > runs["blind"][0] + 0.3  # clicked items are more appealing
    assert runs["lured"][1] >= runs["blind"][1] - 0.02  # and not more satisfying (0.02: noise of 4 x 32 x 20 draws)


def test_sponsored_disappointments_wear_trust_and_unsponsored_ones_do_not():
    kw = dict(num_users=16, num_items=64, click_promotion=3.0, promotion_cost=0.0)
    trust = {}
    for level in (0, 3):
        venv = recsim_marl.make_vec(num_envs=2, scenario="default", **kw)
        venv.reset(seed=1)
        for _ in range(15):
            users = torch.zeros(2, 16, dtype=torch.long)
            venv.step({"users": users, "items": torch.full((2, 64), level, dtype=torch.long)})
        trust[level] = venv.current.trust
    assert torch.allclose(trust[0], torch.ones_like(trust[0]))
    assert float(trust[3].mean()) < 0.9


def test_with_sessions_a_visit_ends_without_terminating_and_people_come_back():
    # budget 2 and no gain: every visit lasts two steps; a return rate of 0.3 brings people back
    venv = recsim_marl.make_vec(num_envs=2, scenario="tiny", initial_budget=2.0, budget_gain=0.0, trait_spread=0.0,
                                return_rate=0.3, return_rate_spread=0.0, max_cycles=40)
    obs = venv.reset(seed=4)
    lay = venv.layouts["users"]
    away_seen = returned = 0
    for _ in range(40):
        s = venv.current
        away = s.alive & ~s.present
        # who is away: in the episode, only action 0 allowed, flagged in the observation
        assert torch.equal(obs["active"]["users"], s.present) and bool(obs["alive"]["users"].all())
        assert bool((obs["action_mask"]["users"][away][:, 1:] == 0).all())
        assert torch.equal(lay.read(obs["users"], "present").squeeze(-1), s.present.float())
        assert bool((lay.read(obs["users"], "time_away").squeeze(-1)[away] > 0).all())
        boredom_before = s.boredom.clone()
        users = torch.full((2, 4), 3, dtype=torch.long)  # an action for the people away is ignored
        obs, rew, term, trunc, info = venv.step({"users": users, "items": torch.zeros(2, 12, dtype=torch.long)})
        assert not term["users"].any() and not term["items"].any()  # nobody terminates
        assert bool((rew["users"][away] == 0).all())  # no reward while away
        # boredom fades while away (toward what they watch elsewhere), without anything shown
        h = venv.current.boredom if not info["done"].any() else info["final_observation"]["hidden"].boredom
        if bool(away.any()):
            assert not torch.equal(h[away], boredom_before[away])
        away_seen += int(away.sum())
        returned += int(info["metrics"]["returns"].sum())
    assert info["done"].all() and trunc["users"].all()  # the episode ends at max_cycles only
    assert away_seen > 0 and returned > 0
    assert bool((info["final_observation"]["hidden"].visits > 1).any())


def test_return_hazard_falls_with_bad_memories_and_lost_trust():
    from recsim_marl.models.user import Traits, UserModel

    c = recsim_marl.make_config("default", return_rate=0.1)
    m, tr = UserModel(), Traits(return_rate=torch.tensor(0.1))
    p = lambda mem, trust: float(m.return_probability(c, tr, torch.tensor(mem), torch.tensor(trust)))  # noqa: E731
    assert p(0.0, 1.0) > p(-0.5, 1.0) > p(-0.5, 0.5)
    assert p(0.5, 1.0) > p(0.0, 1.0)
    assert abs(p(0.0, 1.0) - (1 - torch.exp(torch.tensor(-0.1)).item())) < 1e-6


def test_gae_carries_the_value_of_a_return_across_the_gap():
    # a person acts at t = 0, is away at t = 1..3 (no reward, still in the episode), comes back at t = 4
    # and earns 1: with lambda = 1 and zero values, the value target at t = 0 is gamma ** 4
    from agents.mappo import advantages_and_targets

    gamma = 0.9
    rew = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0]).view(5, 1, 1)
    zeros = torch.zeros(5, 1, 1)
    alive = torch.ones(5, 1, 1, dtype=torch.bool)
    acting = torch.tensor([True, False, False, False, True]).view(5, 1, 1)
    adv, target = advantages_and_targets(rew, zeros, torch.zeros(1, 1), zeros, alive, None, gamma, 1.0, "none",
                                         acting=acting)
    assert abs(float(target[0, 0, 0]) - gamma**4) < 1e-6
    # normalised over the steps where the person chose: the away steps' advantages are 0 (their action
    # was forced), the two acting steps' are normalised to -1 and +1
    adv, _ = advantages_and_targets(rew, zeros, torch.zeros(1, 1), zeros, alive, None, gamma, 1.0, "group",
                                    acting=acting)
    assert torch.equal(adv[1:4], torch.zeros(3, 1, 1))
    assert torch.allclose(adv[[0, 4]].flatten(), torch.tensor([-1.0, 1.0]), atol=1e-4)
