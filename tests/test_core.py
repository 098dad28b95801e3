"""The batched core: step semantics, observations, masks, auto-reset, state, no host syncs."""

import contextlib

import pytest
import torch

import recsim_marl
from recsim_marl import rng
from recsim_marl.core.observation import observation_layout
from recsim_marl.core.world import take
from recsim_marl.models import _kernels
from recsim_marl.models.user import TRAITS


def greedy(venv, obs):
    lay = venv.layouts["users"]
    return {
        "users": lay.read(obs["users"], "candidate_relevance").argmax(-1),
        "items": torch.zeros(venv.num_envs, venv.num_agents["items"], dtype=torch.long),
    }


@contextlib.contextmanager
def forbid_host_sync():
    """Make every way of reading a tensor value on the host raise (what a CUDA sync would need)."""
    names = ["item", "tolist", "numpy", "__bool__", "__int__", "__float__", "cpu", "__index__"]
    saved = {n: getattr(torch.Tensor, n) for n in names}

    def boom(name):
        def f(*a, **k):
            raise AssertionError(f"host sync: Tensor.{name} called inside step")
        return f

    try:
        for n in names:
            setattr(torch.Tensor, n, boom(n))
        yield
    finally:
        for n, f in saved.items():
            setattr(torch.Tensor, n, f)


def test_step_makes_no_host_sync_even_across_auto_reset(monkeypatch):
    # the torch retrieval is what runs on CUDA; the CPU kernel reads CPU tensors through .numpy(),
    # which is a view of host memory, not a sync
    monkeypatch.setattr(_kernels, "available", lambda: False)
    venv = recsim_marl.make_vec(num_envs=3, scenario="tiny", validate=False)
    venv.host_reads = False  # what a CUDA env does: every env's next first state, selected by `where`
    obs = venv.reset(seed=0)
    acts = greedy(venv, obs)
    with forbid_host_sync():
        for _ in range(venv.config.max_cycles + 2):
            obs, rew, term, trunc, info = venv.step(acts)
    assert (venv.current.episode >= 1).all()  # every env went through an auto-reset


def test_cpu_reset_of_finished_envs_only_equals_the_sync_free_reset():
    # CPU envs build first states only for finished envs; CUDA envs build them all and select:
    # the trajectories must be identical, across auto-resets at different steps
    runs = []
    for host_reads in (True, False):
        venv = recsim_marl.make_vec(num_envs=4, scenario="tiny", initial_budget=3.0)
        venv.host_reads = host_reads
        obs = venv.reset(seed=[5, 6, 7, 8])
        gen = torch.Generator().manual_seed(0)
        trace = []
        for _ in range(40):
            acts = {"users": torch.randint(0, 4, (4, 4), generator=gen),
                    "items": torch.randint(0, 4, (4, 12), generator=gen)}
            obs, rew, term, trunc, info = venv.step(acts)
            trace.append((obs["users"], rew["users"], rew["items"], info["done"], venv.current.episode))
        runs.append(trace)
    assert sum(int(step[3].sum()) for step in runs[0]) > 4  # several resets, not all at once
    for a, b in zip(*runs):
        for x, y in zip(a, b):
            assert torch.equal(x, y)


@pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")
def test_user_observation_kernel_equals_torch():
    from recsim_marl.core import observation as obs_mod

    venv = recsim_marl.make_vec(num_envs=3, scenario="default", num_users=9, num_items=40, promotion_cost=0.3)
    obs = venv.reset(seed=3)
    gen = torch.Generator().manual_seed(1)
    for _ in range(6):
        acts = {"users": torch.randint(0, 10, (3, 9), generator=gen), "items": torch.randint(0, 4, (3, 40), generator=gen)}
        obs, *_ = venv.step(acts)
    s, lay = venv.current, venv.layouts["users"]
    assert s.clicks.sum() > 0 and s.promotion.sum() > 0 and s.history.abs().sum() > 0
    fast = obs_mod.user_observation(venv.catalogue, venv.config, s, s.candidates, lay, backend="kernel")
    slow = obs_mod.user_observation(venv.catalogue, venv.config, s, s.candidates, lay, backend="torch")
    assert fast.shape == slow.shape == (3, 9, lay.size)
    dots = ("candidate_relevance", "candidate_familiarity")  # float32 sums in another order
    for name in lay.fields:
        a, b = lay.read(fast, name), lay.read(slow, name)
        assert torch.allclose(a, b, atol=1e-6) if name in dots else torch.equal(a, b), name
    # the layout is the one definition: both paths put each field where a (here reversed) layout says
    from recsim_marl.core.observation import _layout

    spec = [(name, lay.shape(name), 0.0, 1.0) for name in reversed(list(lay.fields))]
    rev = _layout(spec)
    fast_r = obs_mod.user_observation(venv.catalogue, venv.config, s, s.candidates, rev, backend="kernel")
    slow_r = obs_mod.user_observation(venv.catalogue, venv.config, s, s.candidates, rev, backend="torch")
    assert rev["estimate"] != lay["estimate"]
    for name in lay.fields:
        assert torch.equal(rev.read(slow_r, name), lay.read(slow, name)), name
        assert torch.allclose(rev.read(fast_r, name), lay.read(fast, name), atol=0), name


def test_observation_fields_are_what_the_layout_says():
    venv = recsim_marl.make_vec(num_envs=2, scenario="tiny")
    obs = venv.reset(seed=1)
    obs, *_ = venv.step(greedy(venv, obs))
    s, w = venv.current, venv.catalogue
    lay = venv.layouts["users"]
    cand = s.candidates
    content = take(w.content, cand)
    assert torch.allclose(lay.read(obs["users"], "candidate_content"), content)
    rel = (content * s.estimate.unsqueeze(2)).sum(-1)
    assert torch.allclose(lay.read(obs["users"], "candidate_relevance"), rel, atol=1e-6)
    fam = (content * s.history.unsqueeze(2)).sum(-1)
    assert torch.allclose(lay.read(obs["users"], "candidate_familiarity"), fam, atol=1e-6)
    assert torch.allclose(lay.read(obs["users"], "estimate"), s.estimate)
    assert torch.allclose(lay.read(obs["users"], "progress"), torch.full((2, 4, 1), 1 / 25))
    assert torch.equal(lay.read(obs["users"], "candidate_length"),
                       take(w.length / w.length.max(-1, keepdim=True).values, cand))
    ctr = (s.click_ma / s.impression_ma.clamp_min(1e-6)).clamp(0, 1)
    assert torch.equal(lay.read(obs["users"], "candidate_ctr"), ctr.gather(1, cand.flatten(1)).view_as(rel))
    assert (s.impression_ma > 0).any() and (lay.read(obs["users"], "candidate_ctr") > 0).any()
    ilay = venv.layouts["items"]
    assert torch.allclose(ilay.read(obs["items"], "content"), w.content.expand(2, -1, -1))
    assert lay.size == 2 * 8 + 4 * (8 + 8) + 6 and ilay.size == 8 + 6


def test_rewards_and_counters_are_consistent():
    venv = recsim_marl.make_vec(num_envs=4, scenario="default", promotion_cost=0.3)
    obs = venv.reset(seed=2)
    before = venv.current.clone()
    acts = greedy(venv, obs)
    acts["items"] = torch.randint(0, 4, (4, 256), generator=torch.Generator().manual_seed(0))
    obs, rew, term, trunc, info = venv.step(acts)
    s = venv.current
    # item reward = v * clicks - spend, with spend = kappa_p * level / (L - 1)
    spend = 0.3 * info["levels"].float() / 3
    clicks = torch.zeros(4, 256).scatter_add_(1, info["recommended"], info["clicked"].float())
    assert torch.allclose(rew["items"], 1.0 * clicks - spend, atol=1e-6)
    assert torch.allclose(s.funds, before.funds - spend + clicks, atol=1e-5)
    assert info["metrics"]["clicks"].tolist() == info["clicked"].sum(-1).float().tolist()
    # no click, no engagement
    assert (rew["users"][~info["clicked"]] == 0).all()
    assert (rew["users"][info["clicked"]] > 0).all()
    # recommended item is the chosen candidate
    assert torch.equal(info["recommended"], torch.gather(before.candidates, 2, acts["users"][..., None])[..., 0])


def test_unaffordable_levels_are_masked_and_clamped():
    venv = recsim_marl.make_vec(num_envs=1, scenario="tiny", initial_funds=0.4, promotion_cost=0.6)
    obs = venv.reset(seed=0)
    # each level costs 0.2: funds 0.4 afford levels 0..2
    assert obs["action_mask"]["items"][0, 0].tolist() == [True, True, True, False]
    acts = {"users": torch.zeros(1, 4, dtype=torch.long), "items": torch.full((1, 12), 3)}
    obs, rew, *_ , info = venv.step(acts)
    assert (info["levels"] <= 2).all()


def test_auto_reset_returns_final_observation_and_episode_stats():
    venv = recsim_marl.make_vec(num_envs=2, scenario="tiny", max_cycles=5)
    obs = venv.reset(seed=0)
    total = torch.zeros(2)
    for _step in range(5):
        last_state = venv.current.clone()
        obs, rew, term, trunc, info = venv.step(greedy(venv, obs))
        total += rew["users"].mean(-1)
    assert info["done"].all()
    assert trunc["users"].all() or term["users"].any()
    assert torch.allclose(info["episode"]["user_return"], total, atol=1e-5)
    assert info["episode"]["length"].tolist() == [5, 5]
    # the new episode starts at t = 0, episode 1, each person with their own full budget, new traits
    s = venv.current
    assert s.t.tolist() == [0, 0] and s.episode.tolist() == [1, 1]
    assert torch.equal(s.budget, s.traits[..., TRAITS.index("budget")])
    assert not torch.equal(s.traits, last_state.traits)
    # the final observation describes the finished episode: progress 5/5, not 0
    lay = venv.layouts["users"]
    assert torch.allclose(lay.read(info["final_observation"]["users"], "progress"), torch.ones(2, 4, 1))
    assert torch.allclose(lay.read(obs["users"], "progress"), torch.zeros(2, 4, 1))
    # ... with the last candidate list shown
    assert torch.allclose(lay.read(info["final_observation"]["users"], "candidate_content"),
                          take(venv.catalogue.content, last_state.candidates))


def test_people_who_leave_are_masked_and_stop_acting():
    venv = recsim_marl.make_vec(num_envs=1, scenario="tiny", initial_budget=2.0, budget_gain=0.0, trait_spread=0.0)
    obs = venv.reset(seed=0)
    obs, rew, term, *_ = venv.step(greedy(venv, obs))
    assert not term["users"].any()
    obs, rew, term, trunc, info = venv.step(greedy(venv, obs))
    assert term["users"].all() and term["items"].all()  # nobody left: items terminate too
    assert info["done"].all()
    final_alive = info["final_observation"]["state"][0, venv.layouts["state"]["alive"]]
    assert (final_alive == 0).all()


def test_state_is_compact():
    for scenario in ("tiny", "default"):
        c = recsim_marl.make_config(scenario)
        lay = observation_layout(c)["state"]
        assert lay.size == 4 * c.embed_dim + 5 * c.num_users + 3 * c.num_items + 1
    venv = recsim_marl.make_vec(num_envs=3, scenario="tiny")
    venv.reset(seed=0)
    assert venv.state().shape == (3, observation_layout(venv.config)["state"].size)
    lay, s = observation_layout(venv.config)["state"], venv.current
    for field in ("memory", "trust"):
        assert torch.equal(lay.read(venv.state(), field), getattr(s, field)), field


def test_counter_based_rng_depends_only_on_its_key():
    seed = torch.tensor([1, 2, 1])
    ep = torch.tensor([0, 0, 0])
    t = torch.tensor([5, 5, 5])
    u = rng.uniform(rng.stream_key(seed, ep, t, rng.Purpose.CLICK), (1000,))
    assert torch.equal(u[0], u[2]) and not torch.equal(u[0], u[1])
    assert 0 < float(u.min()) and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 0.03
    other = rng.uniform(rng.stream_key(seed, ep, t + 1, rng.Purpose.CLICK), (1000,))
    assert not torch.equal(u, other)
    z = rng.normal(rng.stream_key(seed, ep, t, rng.Purpose.INTEREST_NOISE), (4000,))
    assert abs(float(z.mean())) < 0.06 and abs(float(z.std()) - 1) < 0.06


def test_greedy_beats_random_on_every_scenario_sized_for_tests():
    from agents.baselines import FixedLevelPolicy, GreedyPolicy, RandomPolicy
    from agents.evaluation import evaluate

    for scenario, kw in (("tiny", {}), ("default", {}), ("boredom", {}), ("marketplace", {}),
                         ("movielens-100k", dict(num_users=48, num_items=200))):
        c = recsim_marl.make_config(scenario, **kw)
        items = FixedLevelPolicy(0)
        g = evaluate(c, {"users": GreedyPolicy(c), "items": items}, episodes=10, seed=0,
                     ranking_metrics=False)["user_return"][0]
        r = evaluate(c, {"users": RandomPolicy(c.num_candidates), "items": items}, episodes=10, seed=0,
                     ranking_metrics=False)["user_return"][0]
        assert g > 1.15 * r, (scenario, g, r)


def test_marketplace_ads_pay_the_one_who_bids_and_cost_everyone_else():
    # issue 19: advertising is a social dilemma, not a free lunch. One provider in 16 bidding at the top
    # level earns more than without (so bidding pays it); everyone bidding earns providers less and
    # costs people, whose picks sponsored items displace
    from agents.baselines import FixedLevelPolicy, GreedyPolicy
    from agents.evaluation import evaluate
    from benchmarks.world import promoters_and_others

    c = recsim_marl.make_config("marketplace")
    users = GreedyPolicy(c)
    dev = promoters_and_others(c, users, list(range(4)))
    mean = lambda x: sum(x) / len(x)  # noqa: E731
    assert mean(dev["promoters"]["promoters"]) > 1.2 * mean(dev["none"]["promoters"]), dev
    assert mean(dev["promoters"]["others"]) < mean(dev["none"]["others"]), dev
    runs = {lv: evaluate(c, {"users": users, "items": FixedLevelPolicy(lv)}, episodes=4, seed=0, ranking_metrics=False)
            for lv in (0, c.num_levels - 1)}
    top = c.num_levels - 1
    assert runs[top]["provider_profit"][0] < 0.9 * runs[0]["provider_profit"][0], runs
    assert runs[top]["user_return"][0] < 0.9 * runs[0]["user_return"][0], runs


@pytest.mark.parametrize("kw", [dict(retrieval_noise=0.0), dict(user_reward="click"), dict(team_mixing=0.5)])
def test_config_variants_run(kw):
    venv = recsim_marl.make_vec(num_envs=2, scenario="tiny", **kw)
    obs = venv.reset(seed=0)
    for _ in range(3):
        obs, rew, *_ = venv.step(greedy(venv, obs))
    if kw.get("user_reward") == "click":
        assert set(rew["users"].unique().tolist()) <= {0.0, 1.0}


def test_compile_falls_back_to_the_eager_step_on_cpu():
    plain = recsim_marl.make_vec(num_envs=2, scenario="tiny")
    comp = recsim_marl.make_vec(num_envs=2, scenario="tiny", compile=True)
    assert comp.compiled is False  # torch.compile is used on CUDA only
    a, b = plain.reset(seed=4), comp.reset(seed=4)
    for _ in range(5):
        acts = greedy(plain, a)
        a, ra, *_ = plain.step(acts)
        b, rb, *_ = comp.step(acts)
        assert torch.equal(a["users"], b["users"]) and torch.equal(ra["users"], rb["users"])
