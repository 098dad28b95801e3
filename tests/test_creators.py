"""Creators (issue 19): item agents who publish drafts, pay for them, leave when their funds run out and
are replaced; the same world as before when the mechanism is off; every door sees the item action."""

import numpy as np
import pytest
import torch

import recsim_marl
from agents.baselines import CreatorPolicy, FixedLevelPolicy, GreedyPolicy
from recsim_marl.models import creators

SMALL = dict(num_users=12, num_items=40, num_candidates=6, embed_dim=8, encoder="hash")


def play(venv, seed, items_policy, steps, gen=None):
    """Step ``venv`` from ``reset(seed)`` with greedy users and ``items_policy(obs) -> actions``; the
    per-step rewards and infos."""
    obs = venv.reset(seed=seed)
    greedy = GreedyPolicy(venv.config)
    out = []
    for _ in range(steps):
        acts = {"users": greedy.act(obs["users"], obs["action_mask"]["users"]), "items": items_policy(obs)}
        obs, rew, _, _, info = venv.step(acts)
        out.append((rew, info, acts))
    return out


def random_items(gen):
    def pick(obs):
        m = obs["action_mask"]["items"]
        return torch.multinomial(m.flatten(0, 1).float(), 1, generator=gen).view(m.shape[:2])
    return pick


def test_the_creator_fields_are_inert_when_items_never_change():
    # the new-item bonus and the cost constants do nothing without drafts or upkeep, nor the ad price
    # without ads: the same trajectory
    plain = recsim_marl.make_vec(2, scenario="tiny")
    other = recsim_marl.make_vec(2, scenario="tiny", new_item_boost=0.7, quality_cost=3.0, new_item_steps=3,
                                 ad_price=0.9)  # and the ad price without ads
    from recsim_marl.config import SLATE_FIELDS

    assert other.config.inert_fields()
    assert recsim_marl.make_config("creators").inert_fields() == ("ad_load", "ad_price", *SLATE_FIELDS)
    assert recsim_marl.make_config("creators", ad_load=0.2).inert_fields() == SLATE_FIELDS
    a = play(plain, 4, random_items(torch.Generator().manual_seed(0)), 30)
    b = play(other, 4, random_items(torch.Generator().manual_seed(0)), 30)
    for (ra, ia, _), (rb, ib, _) in zip(a, b):
        assert torch.equal(ra["users"], rb["users"]) and torch.equal(ra["items"], rb["items"])
        assert torch.equal(ia["recommended"], ib["recommended"])
    assert plain.num_actions["items"] == plain.config.num_levels  # the item action is the level alone


def test_publishing_replaces_the_item_pays_its_cost_and_starts_it_cold():
    venv = recsim_marl.make_vec(1, scenario="tiny", num_drafts=2, initial_funds=50.0, quality_cost=0.5,
                                appeal_cost=0.25, promotion_cost=0.0, popularity_rate=0.5)
    c = venv.config
    venv.reset(seed=3)
    venv.step({"users": torch.zeros(1, c.num_users, dtype=torch.long),
               "items": torch.zeros(1, c.num_items, dtype=torch.long)})  # some clicks: a history to lose
    s = venv.current.clone()
    idx, rating = creators.drafts(venv.world, c, s)
    q, a = venv.world.quality[idx[0, 1, 1]], venv.world.appeal[idx[0, 1, 1]]
    cost = 0.5 * max(float(q), 0) ** 2 + 0.25 * max(float(a), 0) ** 2
    items = torch.zeros(1, c.num_items, dtype=torch.long)
    items[0, 1] = 2 * c.num_levels + 1  # item 1 publishes its second draft at level 1
    _, rew, _, _, info = venv.step({"users": torch.zeros(1, c.num_users, dtype=torch.long), "items": items})
    n = venv.current
    assert info["published"][0].tolist() == [j == 1 for j in range(c.num_items)]
    assert int(n.items[0, 1]) == int(idx[0, 1, 1]) and float(n.rating[0, 1]) == pytest.approx(float(rating[0, 1, 1]))
    assert float(n.age[0, 1]) == 0 and bool((n.age[0, 2:] == 2).all())
    assert float(n.click_ma[0, 1]) == float(n.impression_ma[0, 1]) == 0.0  # no history yet
    assert torch.equal(venv.catalogue.content[0, 1], venv.world.content[idx[0, 1, 1]])
    clicks1 = float((info["recommended"][0] == 1).float() @ info["clicked"][0].float())
    assert float(rew["items"][0, 1]) == pytest.approx(clicks1 - cost, abs=1e-5)
    assert float(n.funds[0, 1]) == pytest.approx(float(s.funds[0, 1]) + clicks1 - cost, abs=1e-5)
    assert int(n.promotion[0, 1]) == 1


def test_drafts_the_funds_cannot_pay_for_are_masked_and_asking_keeps_the_item():
    venv = recsim_marl.make_vec(2, scenario="tiny", num_drafts=3, initial_funds=0.5, quality_cost=5.0,
                                appeal_cost=5.0, validate=False)
    c = venv.config
    obs = venv.reset(seed=8)
    s = venv.current.clone()
    idx, _ = creators.drafts(venv.world, c, s)
    cost = creators.draft_costs(venv.world, c, idx)
    mask = obs["action_mask"]["items"].view(2, c.num_items, c.num_drafts + 1, c.num_levels)
    assert torch.equal(mask[..., 1:, 0], cost <= s.funds.unsqueeze(-1))
    assert bool((cost > s.funds.unsqueeze(-1)).any()) and bool((cost <= s.funds.unsqueeze(-1)).any())
    ask = torch.full((2, c.num_items), 3 * c.num_levels, dtype=torch.long)  # everyone asks for draft 3
    _, _, _, _, info = venv.step({"users": torch.zeros(2, c.num_users, dtype=torch.long), "items": ask})
    afford = cost[..., 2] <= s.funds
    assert torch.equal(info["published"], afford)
    kept = ~afford
    assert torch.equal(venv.current.items[kept], s.items[kept]) and bool((venv.current.funds >= 0).all())


def test_out_of_range_item_actions_are_refused_with_their_meaning_or_clamped_without_validation():
    venv = recsim_marl.make_vec(1, scenario="tiny", num_drafts=2)
    c = venv.config
    venv.reset(seed=0)
    users = torch.zeros(1, c.num_users, dtype=torch.long)
    bad = torch.zeros(1, c.num_items, dtype=torch.long)
    bad[0, 3] = 3 * c.num_levels  # draft 3 of 2
    before = venv.get_state()
    with pytest.raises(ValueError, match=r"actions\['items'\]\[0, 3\] = 12 is out of range: allowed 0..11 "
                                         r"\(p \* 4 \+ l: publish p in 0..2, 0 keeping the live item"):
        venv.step({"users": users, "items": bad})
    after = venv.get_state()
    assert all(torch.equal(getattr(before, f), getattr(after, f)) for f in before.__dataclass_fields__)
    loose = recsim_marl.make_vec(1, scenario="tiny", num_drafts=2, validate=False)
    loose.reset(seed=0)
    bad[0, 4] = -7
    loose.step({"users": users, "items": bad})  # clamped: the last action (draft 2, top level affordable)
    s = loose.current
    assert bool(torch.isfinite(s.funds).all()) and bool((s.items < loose.world.pool_items).all())


def test_creators_leave_when_their_funds_run_out_and_newcomers_enter_fresh():
    venv = recsim_marl.make_vec(2, scenario="creators", **SMALL)
    c = venv.config
    out = play(venv, 40, lambda obs: torch.zeros(obs["items"].shape[:2], dtype=torch.long), 25)
    entered = torch.stack([info["entered"] for _, info, _ in out])
    assert bool(entered.any())
    s = venv.current
    assert bool((s.funds >= 0).all())  # nobody is left with negative funds: they left
    t, b, j = (int(x) for x in entered.nonzero()[-1])
    if t == len(out) - 1:
        assert float(s.funds[b, j]) == pytest.approx(c.initial_funds, abs=c.click_value * c.num_users)


def test_every_episode_starts_from_the_items_the_world_drew():
    venv = recsim_marl.make_vec(2, scenario="creators", **{**SMALL, "max_cycles": 12})
    venv.reset(seed=5)
    drawn = venv.current.items.clone()
    play(venv, 5, random_items(torch.Generator().manual_seed(1)), 12)  # the episode ends at step 12
    assert torch.equal(venv.current.items, drawn) and bool((venv.current.episode == 1).all())


def test_batch_size_does_not_change_a_creators_world():
    big = recsim_marl.make_vec(4, scenario="creators", **SMALL)
    small = recsim_marl.make_vec(2, scenario="creators", **SMALL)
    gen = torch.Generator().manual_seed(0)
    ob, os_ = big.reset(seed=0), small.reset(seed=[2, 3])
    greedy = GreedyPolicy(big.config)
    for _ in range(30):
        assert torch.equal(ob["items"][2:], os_["items"]) and torch.equal(ob["users"][2:], os_["users"])
        assert torch.equal(ob["action_mask"]["items"][2:], os_["action_mask"]["items"])
        items = random_items(gen)(ob)
        acts = {"users": greedy.act(ob["users"], None), "items": items}
        ob, rb, *_ = big.step(acts)
        os_, rs, *_ = small.step({g: a[2:] for g, a in acts.items()})
        assert torch.equal(rb["items"][2:], rs["items"]) and torch.equal(rb["users"][2:], rs["users"])


def test_a_saved_state_replays_exactly_after_items_changed():
    venv = recsim_marl.make_vec(2, scenario="creators", **SMALL)
    gen = torch.Generator().manual_seed(2)
    play(venv, 9, random_items(gen), 10)
    saved = venv.get_state()
    assert bool((saved.age < saved.t.unsqueeze(-1)).any())  # some items were published or entered
    items = random_items(torch.Generator().manual_seed(0))(venv.observe())
    first = venv.step({"users": torch.zeros(2, 12, dtype=torch.long), "items": items})
    other = recsim_marl.make_vec(2, scenario="creators", **SMALL)
    other.reset(seed=0)
    other.set_state(saved)
    again = other.step({"users": torch.zeros(2, 12, dtype=torch.long), "items": items})
    assert torch.equal(first[0]["items"], again[0]["items"]) and torch.equal(first[1]["items"], again[1]["items"])


@pytest.mark.parametrize("rule, field", [("quality-first", "quality"), ("clickbait-first", "appeal")])
def test_scripted_creators_publish_what_their_rule_says(rule, field):
    venv = recsim_marl.make_vec(4, scenario="creators", **{**SMALL, "upkeep": 0.0, "initial_funds": 20.0})
    never = play(venv, 60, lambda obs: torch.zeros(obs["items"].shape[:2], dtype=torch.long), 10)
    base = float(getattr(venv.catalogue, field).mean())
    pol = CreatorPolicy(venv.config, rule)
    out = play(venv, 60, lambda obs: pol.act(obs["items"], obs["action_mask"]["items"]), 10)
    assert sum(float(info["metrics"]["published"].sum()) for _, info, _ in out) > 0
    assert float(getattr(venv.catalogue, field).mean()) > base + 0.3
    assert sum(float(info["metrics"]["published"].sum()) for _, info, _ in never) == 0
    with pytest.raises(ValueError, match="needs drafts to choose from: set num_drafts >= 1"):
        CreatorPolicy(recsim_marl.make_config("tiny"), rule)


def test_the_creators_scenario_passes_the_pettingzoo_and_rllib_checkers():
    from pettingzoo.test import parallel_api_test
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    from recsim_marl.integrations.rllib import RecSimMultiAgentEnv

    env = recsim_marl.parallel_env(scenario="creators", **SMALL)
    assert env.action_space("item_0").n == (env.config.num_drafts + 1) * env.config.num_levels
    parallel_api_test(env, num_cycles=40)
    check_multiagent_environments(RecSimMultiAgentEnv({"scenario": "creators", **SMALL}))
    obs, infos = env.reset(seed=1)
    mask = infos["item_0"]["action_mask"]
    assert mask.shape == (env.action_space("item_0").n,) and mask[0] == 1
    rng = np.random.default_rng(0)
    for _ in range(20):  # masked random actions through the PettingZoo door
        acts = {a: int(rng.choice(np.flatnonzero(infos[a]["action_mask"]))) for a in env.agents}
        obs, _, _, _, infos = env.step(acts)


def test_the_quality_gate_refuses_drafts_rated_below_it_and_raises_what_is_published():
    kw = {**SMALL, "upkeep": 0.0, "initial_funds": 50.0}
    gated = recsim_marl.make_vec(4, scenario="creators", quality_gate=0.5, **kw)
    obs = gated.reset(seed=30)
    c = gated.config
    idx, rating = creators.drafts(gated.world, c, gated.current)
    mask = obs["action_mask"]["items"].view(4, c.num_items, c.num_drafts + 1, c.num_levels)[..., 1:, 0]
    assert torch.equal(mask, rating >= 0.5) and bool(mask.any()) and bool((~mask).any())
    quality = {}
    for name, venv in (("gated", gated), ("open", recsim_marl.make_vec(4, scenario="creators", **kw))):
        rng = torch.Generator().manual_seed(3)

        def anything(obs, rng=rng):  # any draft at all, masked or not: the gate keeps the refused ones out
            return torch.randint(0, c.num_drafts + 1, obs["items"].shape[:2], generator=rng) * c.num_levels

        play(venv, 30, anything, 8)
        quality[name] = float(venv.world.quality[venv.current.items].mean())  # of the live items after 8 steps
    assert quality["gated"] > quality["open"] + 0.3
    with pytest.raises(ValueError, match="quality_gate=0.5 has no effect with num_drafts=0"):
        recsim_marl.make_config("tiny", quality_gate=0.5)


def test_evaluate_reports_what_creators_made():
    from agents.evaluation import evaluate

    c = recsim_marl.make_config("creators", **SMALL, max_cycles=15)
    out = {rule: evaluate(c, {"users": GreedyPolicy(c), "items": CreatorPolicy(c, rule)}, episodes=3, seed=70,
                          ranking_metrics=rule == "quality-first")
           for rule in ("never-publish", "quality-first", "clickbait-first")}
    assert out["never-publish"]["published"][0] == 0 and out["quality-first"]["published"][0] > 0
    assert out["quality-first"]["published_quality"][0] > out["clickbait-first"]["published_quality"][0] + 0.5
    assert out["clickbait-first"]["published_appeal"][0] > out["quality-first"]["published_appeal"][0] + 0.5
    assert out["clickbait-first"]["clickbait_share"][0] > out["quality-first"]["clickbait_share"][0]
    assert out["quality-first"]["live_quality"][0] > out["never-publish"]["live_quality"][0]
    assert 0 < out["never-publish"]["homogeneity"][0] < 1 and out["never-publish"]["exits"][0] > 0
    tiny = recsim_marl.make_config("tiny")  # items that never change: no creator metrics
    assert "published" not in evaluate(tiny, {"users": GreedyPolicy(tiny), "items": FixedLevelPolicy(0)}, episodes=2)


def test_a_sponsored_slot_shows_the_highest_bid_among_the_candidates_and_bills_the_second_price_per_click():
    venv = recsim_marl.make_vec(1, scenario="tiny", num_users=4, num_items=12, ad_load=0.9, ad_price=0.6,
                                promotion_cost=0.0, promotion_boost=0.0, initial_funds=0.05)
    venv.reset(seed=2)
    # set bids by hand: item 5 bids 3, item 7 bids 2, the others nothing (levels are bought last step)
    s = venv.get_state()
    s.promotion[0] = 0
    s.promotion[0, 5], s.promotion[0, 7] = 3, 2
    venv.set_state(s)
    cand = venv.current.candidates[0]
    _, rew, _, _, info = venv.step({"users": torch.zeros(1, 4, dtype=torch.long),
                                    "items": torch.zeros(1, 12, dtype=torch.long)})
    ad, shown, clicked = info["sponsored"][0], info["recommended"][0], info["clicked"][0]
    assert bool(ad.any())
    for u in range(4):
        levels = s.promotion[0, cand[u]]
        if ad[u]:  # the highest level among this person's candidates, the earliest among equals
            assert int(shown[u]) == int(cand[u, int(torch.argmax(levels * 10 - torch.arange(len(levels))))])
        else:  # no bidder among the candidates, or the draw said no ad: the agent's pick
            assert int(shown[u]) == int(cand[u, 0])
    bills = torch.zeros(12)
    for u in range(4):
        if ad[u] and clicked[u]:
            levels = s.promotion[0, cand[u]].tolist()
            w = int(cand[u].tolist().index(int(shown[u])))
            second = max([lv for j, lv in enumerate(levels) if j != w] + [1])
            bills[int(shown[u])] += 0.6 * second / 3
    clicks = torch.zeros(12).index_add_(0, shown, clicked.float())
    billed = torch.minimum(bills, 0.05 + clicks)  # never more than the funds left
    assert torch.allclose(rew["items"][0], clicks - billed, atol=1e-6)
    assert float(info["metrics"]["ad_revenue"][0]) == pytest.approx(float(billed.sum()), abs=1e-6)
    assert bool((venv.current.funds >= 0).all())


def test_no_bidder_no_ad():
    venv = recsim_marl.make_vec(2, scenario="marketplace", num_users=8, num_items=64, encoder="hash")
    plain = recsim_marl.make_vec(2, scenario="marketplace", num_users=8, num_items=64, encoder="hash", ad_load=0.0)
    a = play(venv, 3, lambda obs: torch.zeros(obs["items"].shape[:2], dtype=torch.long), 10)
    b = play(plain, 3, lambda obs: torch.zeros(obs["items"].shape[:2], dtype=torch.long), 10)
    for (ra, ia, _), (rb, _, _) in zip(a, b):
        assert not bool(ia["sponsored"].any()) and torch.equal(ra["users"], rb["users"])


def test_checkpoints_of_worlds_without_creators_stay_readable(tmp_path):
    # a checkpoint records the observation fields of its own world, so the rows added with creators do
    # not make the checkpoints of other worlds unreadable; a config field it does not name (added since)
    # had the value that leaves its mechanism off
    from agents.checkpoint import CheckpointError, config_dict, load_checkpoint, save_checkpoint

    plain, made = recsim_marl.make_config("tiny"), recsim_marl.make_config("creators")
    for config in (plain, made):
        path = tmp_path / f"{config.scenario}.pt"
        save_checkpoint(path, {"algorithm": "mappo", "env_config": config_dict(config)})
        ck = load_checkpoint(path, "mappo", config_dict(config))
        assert ("draft_quality" in ck["observation"]["items"]) == (config is made)
        assert ("candidate_age" in ck["observation"]["users"]) == (config is made)
    older = {k: v for k, v in config_dict(plain).items() if k not in ("num_drafts", "upkeep", "ad_load")}
    save_checkpoint(tmp_path / "older.pt", {"algorithm": "mappo", "env_config": older})
    load_checkpoint(tmp_path / "older.pt", "mappo", config_dict(plain))  # resumes: the fields were off
    with pytest.raises(CheckpointError, match="differs in: num_drafts"):
        load_checkpoint(tmp_path / "older.pt", "mappo", config_dict(plain.replace(num_drafts=2)))
