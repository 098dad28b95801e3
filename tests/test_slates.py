"""Slates (issue 20): a user agent shows S candidates, the person chooses one or none."""

import numpy as np
import pytest
import torch

import recsim_marl
from recsim_marl.models.user import choice_probabilities

TINY = dict(scenario="tiny", encoder="hash", num_users=6, num_items=24, num_candidates=6, max_cycles=20)
MODELS = ("cascade", "pbm", "mnl")


def slates(gen, b, u, k, s):
    """Random slates of distinct candidates ``[b, u, s]``."""
    return torch.stack([torch.randperm(k, generator=gen)[:s] for _ in range(b * u)]).view(b, u, s)


def play(venv, seed, steps, gen):
    obs = venv.reset(seed=seed)
    c = venv.config
    out = []
    for _ in range(steps):
        ua = (slates(gen, venv.num_envs, c.num_users, c.num_candidates, c.slate_size) if c.slate_size > 1 else
              torch.randint(c.num_candidates, (venv.num_envs, c.num_users), generator=gen))
        obs, rew, term, trunc, info = venv.step({"users": ua, "items": torch.zeros(venv.num_envs, c.num_items,
                                                                                     dtype=torch.long)})
        out.append((rew["users"].clone(), info))
    return out


def test_one_item_is_the_single_click_whatever_the_choice_model():
    """With S = 1 the choice model's fields are inert: every model gives today's trajectory, bit for bit."""
    runs = []
    for model in MODELS:
        venv = recsim_marl.make_vec(3, **TINY, choice_model=model, position_bias=0.3, look_cost=1.0)
        assert set(venv.config.inert_fields()) >= {"slate_size", "choice_model", "position_bias", "look_cost"}
        runs.append(torch.stack([r for r, _ in play(venv, 4, 15, torch.Generator().manual_seed(0))]))
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[0], runs[2])


def test_choice_probabilities_by_hand():
    a = torch.tensor([0.5, 0.4, 0.2])
    seen = torch.ones(3)
    cascade = choice_probabilities(a, seen, "cascade", 0.9)
    assert torch.allclose(cascade, torch.tensor([0.5, 0.5 * 0.4, 0.5 * 0.6 * 0.2]))
    mnl = choice_probabilities(a, seen, "mnl", 0.5)
    w = torch.tensor([1.0, 0.4 / 0.6 * 0.5, 0.2 / 0.8 * 0.25])
    assert torch.allclose(mnl, w / (1 + w.sum()))
    one = choice_probabilities(a[:1], seen[:1], "mnl", 0.5)
    assert torch.allclose(one, a[:1])  # one item alone: its click probability
    # an empty or unseen slot is never chosen, and nothing above it changes
    assert torch.allclose(choice_probabilities(a, torch.tensor([1.0, 0.0, 1.0]), "cascade", 0.9),
                          torch.tensor([0.5, 0.0, 0.5 * 0.2]))


@pytest.mark.parametrize("model", MODELS)
def test_lower_slots_are_chosen_less_and_nothing_is_a_real_outcome(model):
    venv = recsim_marl.make_vec(8, **{**TINY, "max_cycles": 50}, slate_size=3, choice_model=model, position_bias=0.7)
    counts = np.zeros(4)
    for _, info in play(venv, 0, 40, torch.Generator().manual_seed(1)):
        present = info["slate"][..., 0] >= 0
        ch = info["chosen"][present]
        counts += np.bincount(np.where(ch.numpy() < 0, 3, ch.numpy()), minlength=4)
    assert counts[0] > counts[1] > counts[2] > 0 and counts[3] > 0, counts  # random slates: position bias shows


def test_a_slate_costs_time_to_look_down():
    kw = dict(**TINY, slate_size=4, choice_model="cascade")
    cheap = recsim_marl.make_vec(4, **kw, look_cost=0.0)
    dear = recsim_marl.make_vec(4, **kw, look_cost=0.5)
    a = play(cheap, 2, 1, torch.Generator().manual_seed(0))
    b = play(dear, 2, 1, torch.Generator().manual_seed(0))
    assert torch.equal(a[0][1]["chosen"], b[0][1]["chosen"])  # the same looks and choices...
    looked_past_top = (a[0][1]["chosen"] != 0)
    spent = cheap.current.budget - dear.current.budget
    assert bool((spent[looked_past_top] > 0.49).all()) and bool((spent[~looked_past_top].abs() < 1e-6).all())


def test_a_repeat_leaves_its_slot_empty_without_validation_and_is_refused_with_it():
    venv = recsim_marl.make_vec(1, **TINY, slate_size=3, validate=False)
    venv.reset(seed=0)
    ua = torch.tensor([[[2, 2, 5]] * 6])
    _, _, _, _, info = venv.step({"users": ua, "items": torch.zeros(1, 24, dtype=torch.long)})
    assert (info["slate"][0, :, 1] == -1).all() and (info["slate"][0, :, 0] >= 0).all()
    assert not (info["chosen"] == 1).any()  # an empty slot is never chosen
    assert torch.equal(venv.current.impressions.sum(-1), torch.tensor([12.0]))  # two items shown to each of 6
    strict = recsim_marl.make_vec(1, **TINY, slate_size=3)
    strict.reset(seed=0)
    before = strict.get_state()
    with pytest.raises(ValueError, match=r"actions\['users'\]\[0, 0\] shows candidate 2 in slots 0 and 1"):
        strict.step({"users": ua, "items": torch.zeros(1, 24, dtype=torch.long)})
    with pytest.raises(ValueError, match=r"expected \(1, 6, 3\)"):
        strict.step({"users": ua[..., :2], "items": torch.zeros(1, 24, dtype=torch.long)})
    with pytest.raises(ValueError, match=r"\[0, 0, 2\] = 6 is out of range"):
        strict.step({"users": torch.tensor([[[0, 1, 6]] * 6]), "items": torch.zeros(1, 24, dtype=torch.long)})
    assert torch.equal(strict.get_state().budget, before.budget) and bool((strict.current.t == 0).all())
    # a person away is shown nothing: [0, 0, 0], the only slate their mask allows, is accepted from them alone
    away = strict.get_state()
    away.present[0, 0] = False
    strict.set_state(away)
    ok = torch.tensor([[[0, 0, 0]] + [[0, 1, 2]] * 5])
    with pytest.raises(ValueError, match=r"actions\['users'\]\[0, 1\] shows candidate 0 in slots 0 and 1"):
        strict.step({"users": torch.zeros(1, 6, 3, dtype=torch.long), "items": torch.zeros(1, 24, dtype=torch.long)})
    strict.step({"users": ok, "items": torch.zeros(1, 24, dtype=torch.long)})
    assert bool((strict.current.t == 1).all())


def test_config_refuses_slates_it_cannot_make():
    with pytest.raises(ValueError, match="slate_size=7 is invalid: must be <= num_candidates"):
        recsim_marl.make_config("tiny", slate_size=7, num_candidates=6)
    with pytest.raises(ValueError, match="choice_model"):
        recsim_marl.make_config("tiny", slate_size=2, choice_model="logit")
    with pytest.raises(ValueError, match="ad_load"):
        recsim_marl.make_config("tiny", slate_size=2, ad_load=0.2)


@pytest.mark.parametrize("model", MODELS)
def test_batch_size_does_not_change_a_slate_world(model):
    kw = dict(**TINY, slate_size=3, choice_model=model)
    big, small = recsim_marl.make_vec(4, **kw), recsim_marl.make_vec(2, **kw)
    ob, os_ = big.reset(seed=0), small.reset(seed=[2, 3])
    gen = torch.Generator().manual_seed(0)
    for _ in range(15):
        assert torch.equal(ob["users"][2:], os_["users"])
        ua = slates(gen, 4, 6, 6, 3)
        ia = torch.randint(4, (4, 24), generator=gen)
        ob, rb, *_, ib = big.step({"users": ua, "items": ia})
        os_, rs, *_, is_ = small.step({"users": ua[2:], "items": ia[2:]})
        assert torch.equal(rb["users"][2:], rs["users"]) and torch.equal(ib["chosen"][2:], is_["chosen"])


@pytest.mark.parametrize("model", MODELS)
def test_pettingzoo_checks_pass_with_slates(model):
    from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

    kw = dict(**TINY, slate_size=3, choice_model=model)
    env = recsim_marl.parallel_env(**kw)
    space = env.action_space("user_0")
    assert list(space.nvec) == [6, 6, 6] and env.action_space("item_0").n == 4
    parallel_api_test(env, num_cycles=30)  # random slates, repeats included: their documented meaning
    api_test(recsim_marl.env(**kw), num_cycles=10)
    parallel_seed_test(lambda: recsim_marl.parallel_env(**kw), num_cycles=10)


def test_pettingzoo_refuses_a_bad_slate_naming_the_agent():
    env = recsim_marl.parallel_env(**TINY, slate_size=3)
    env.reset(seed=0)
    acts = {a: (np.array([0, 1, 2]) if a.startswith("user") else 0) for a in env.agents}
    for bad, match in ((np.array([0, 1]), "user_0.*must be a slate: 3 candidate indices"),
                       (np.array([0, 1, 9]), "user_0.*candidate 9 in slot 2: out of range"),
                       (np.array([0.0, 1.0, 2.0]), "user_0.*dtype float64"),
                       (3, "user_0.*must be a slate")):
        with pytest.raises((ValueError, TypeError), match=match):
            env.step({**acts, "user_0": bad})
    assert env.step(acts)[0]  # nothing was changed by the refusals
    with pytest.raises(ValueError, match="pad_actions"):
        recsim_marl.parallel_env(**TINY, slate_size=3, pad_actions=True)


def test_the_text_render_shows_each_persons_whole_slate():
    env = recsim_marl.parallel_env(**TINY, slate_size=3, render_mode="ansi")
    env.reset(seed=0)
    acts = {a: (np.array([2, 2, 4]) if a.startswith("user") else 0) for a in env.agents}  # a repeat: slot 1 empty
    env.step(acts)
    rows = [r.split() for r in env.render().splitlines() if r.strip().startswith("user_")]
    assert len(rows) == TINY["num_users"]
    for row in rows:  # user_u budget click slate [i, -, *j] chose [j] title... / none chosen; top [i] title...
        shown = " ".join(row[4:7]).strip("[]").split(", ")
        assert row[3] == "slate" and len(shown) == 3 and shown[1] == "-", row  # the repeat's slot stays empty
        starred = [x[1:] for x in shown if x.startswith("*")]
        assert (row[2] == "yes") == (row[7] == "chose") == bool(starred), row
        named = row[8] if starred else row[10]
        assert named == f"[{starred[0] if starred else shown[0]}]", row  # the title is of what was chosen, else the top
    away = recsim_marl.parallel_env(**{**TINY, "scenario": "retention", "max_cycles": 40}, slate_size=3,
                                    render_mode="ansi")
    away.reset(seed=0)
    for _ in range(30):  # people in `retention` leave between visits and come back: away, not gone
        away.step({a: (np.array([0, 1, 2]) if a.startswith("user") else 0) for a in away.agents})
    core = away._core.current
    marks = [r.endswith("(away)") for r in away.render().splitlines() if r.strip().startswith("user_")]
    assert marks == (core.alive[0] & ~core.present[0]).tolist() and any(marks)


def test_every_door_takes_slates():
    """TorchRL's spec check (random slates: repeats included), RLlib's checker, SB3 PPO on the users'
    MultiDiscrete slates, and evaluate's slate metrics."""
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments
    from stable_baselines3 import PPO
    from torchrl.envs.utils import check_env_specs

    from agents.baselines import FixedLevelPolicy, GreedyPolicy
    from agents.evaluation import evaluate
    from agents.sb3 import GroupVecEnv, SB3Policy
    from recsim_marl.integrations.rllib import RecSimMultiAgentEnv
    from recsim_marl.integrations.torchrl import RecSimEnv

    kw = dict(TINY, slate_size=3, choice_model="pbm")
    env = RecSimEnv(num_envs=3, seed=1, **kw)
    assert env.action_spec["users", "action"].shape == (3, 6, 3)
    check_env_specs(env)
    check_multiagent_environments(RecSimMultiAgentEnv(dict(kw)))
    venv = GroupVecEnv(group="users", num_worlds=2, **kw)
    venv.reset()
    assert list(venv.action_space.nvec) == [6, 6, 6] and venv.action_masks().shape == (12, 18)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=48, n_epochs=1, seed=0)
    model.learn(64)
    c = recsim_marl.make_config(**kw)
    for users in (SB3Policy(model), GreedyPolicy(c)):
        r = evaluate(c, {"users": users, "items": FixedLevelPolicy(0)}, episodes=2, seed=3)
        assert 0 < r["precision"][0] <= 1 and 0 < r["pick_ndcg"][0] <= 1 and r["coverage"][0] > 0
        assert 0 < r["no_click"][0] < 1 and all(0 <= r[f"ctr_slot{k}"][0] <= 1 for k in (1, 2, 3))
        chosen_share = sum(r[f"ctr_slot{k}"][0] for k in (1, 2, 3))  # every slot is shown (greedy: no repeats)
        if isinstance(users, GreedyPolicy):
            assert abs(chosen_share + r["no_click"][0] - 1) < 1e-5


def test_mappo_learns_slates_with_plackett_luce(tmp_path):
    from agents import mappo
    from agents.baselines import FixedLevelPolicy, RandomPolicy
    from agents.evaluation import evaluate
    from agents.policy import LearnedPolicy, log_prob, sample

    logits = torch.tensor([[2.0, 0.0, -1.0, 0.5]])
    slate = torch.tensor([[0, 3]])
    p0 = torch.softmax(logits, -1)[0, 0]
    p1 = torch.exp(logits[0, 3]) / torch.exp(logits[0, 1:]).sum()
    assert torch.allclose(log_prob(logits, slate), torch.log(p0 * p1))  # Plackett-Luce by hand
    draws = sample(logits.expand(4000, 4), torch.Generator().manual_seed(0), 2)
    assert bool((draws[:, 0] != draws[:, 1]).all())  # distinct
    assert abs(float((draws[:, 0] == 0).float().mean()) - float(p0)) < 0.03  # the top slot follows the softmax
    kw = {"slate_size": 3, "encoder": "hash", "max_cycles": 20}
    args = mappo.Args(scenario="tiny", env=kw, total_steps=8 * 25 * 6, num_envs=8, log_dir=str(tmp_path / "m"),
                      progress=False, tensorboard=False, eval_episodes=0)
    res = mappo.train(args)
    c = recsim_marl.make_config("tiny", **kw)
    learned = LearnedPolicy(res["nets"]["users"])
    items = FixedLevelPolicy(0)
    mine = evaluate(c, {"users": learned, "items": items}, episodes=16, seed=1000, ranking_metrics=False)
    rand = evaluate(c, {"users": RandomPolicy(4, slate_size=3), "items": items}, episodes=16, seed=1000,
                    ranking_metrics=False)
    assert mine["user_return"][0] > rand["user_return"][0]


@pytest.mark.parametrize("model", MODELS)
def test_slateq_values_a_slate_by_its_choice_probabilities(model):
    from agents.baselines import top
    from agents.iql import consumed
    from agents.networks import SlateQ

    c = recsim_marl.make_config("tiny", slate_size=3, choice_model=model, encoder="hash")
    net = SlateQ(c)
    gen = torch.Generator().manual_seed(1)
    q = torch.randn(2, 5, c.num_candidates + 1, generator=gen)
    a = torch.rand(2, 5, c.num_candidates, generator=gen) * 0.8 + 0.1
    mask = torch.ones(2, 5, c.num_candidates, dtype=torch.bool)
    slate = net.slate(q, a, mask)
    assert bool((slate.sort(-1).values.diff(dim=-1) > 0).all())  # distinct candidates
    looked = (torch.tensor(c.position_bias) ** torch.arange(3.0)) if model == "pbm" else torch.ones(3)
    p = choice_probabilities(a.gather(-1, slate), looked, model, c.position_bias)
    by_hand = (p * q[..., :-1].gather(-1, slate)).sum(-1) + (1 - p.sum(-1)) * q[..., -1]
    assert torch.allclose(net.slate_value(q, a, slate), by_hand, atol=1e-6)
    # nothing to gain over choosing nothing: every slate is worth no click's value
    flat = q[..., -1:].expand_as(q)
    assert torch.allclose(net.slate_value(flat, a, slate), q[..., -1], atol=1e-6)
    # a person away between visits is shown nothing: their slate is worth choosing nothing
    rc = recsim_marl.make_config("tiny", slate_size=3, choice_model=model, encoder="hash", return_rate=0.5)
    venv = recsim_marl.VecEnv(rc, 4)
    obs = venv.reset(seed=3)
    for _ in range(12):
        if not bool(venv.current.present.all()):
            break
        obs, *_ = venv.step({"users": top(torch.rand(4, rc.num_users, rc.num_candidates), 3),
                             "items": torch.zeros(4, rc.num_items, dtype=torch.long)})
    away = ~venv.current.present
    assert bool(away.any()), "someone is away between visits"
    rnet = SlateQ(rc)
    attraction = rnet.attraction(obs["users"])
    assert bool((attraction[away] == 0).all()) and bool((attraction[~away] > 0).all())
    rq = torch.randn(4, rc.num_users, rc.num_candidates + 1, generator=gen)
    value = rnet.slate_value(rq, attraction, rnet.slate(rq, attraction, obs["action_mask"]["users"]))
    assert torch.allclose(value[away], rq[..., -1][away])
    # a transition stores what was consumed: the chosen slot's candidate, or K for nothing
    acts = torch.tensor([[[2, 0, 3], [1, 3, 0]]])
    got = consumed(acts, {"chosen": torch.tensor([[1, -1]])}, c.num_candidates)
    assert got.tolist() == [[0, c.num_candidates]]
    # and in a real step: the consumed candidate is the item the person was recommended and clicked
    venv = recsim_marl.VecEnv(c, 8)
    venv.reset(seed=11)
    before = venv.current.candidates.clone()  # [B, U, K] item ids
    acts = top(torch.rand(8, c.num_users, c.num_candidates, generator=gen), 3)
    _, _, _, _, info = venv.step({"users": acts, "items": torch.zeros(8, c.num_items, dtype=torch.long)})
    got = consumed(acts, info, c.num_candidates)
    chose = got < c.num_candidates
    assert bool(chose.any()) and bool((~chose).any())
    assert torch.equal(before.gather(2, got.clamp(max=c.num_candidates - 1).unsqueeze(-1)).squeeze(-1)[chose],
                       info["recommended"][chose])
    assert torch.equal(chose, info["clicked"])


def test_iql_learns_slates_with_slateq_and_its_checkpoint_acts_them(tmp_path):
    from agents import iql
    from agents.baselines import FixedLevelPolicy, RandomPolicy
    from agents.evaluation import evaluate
    from agents.policy import checked_act

    kw = {"slate_size": 3, "choice_model": "mnl", "encoder": "hash", "max_cycles": 20}
    args = iql.Args(scenario="tiny", env=kw, total_steps=8 * 20 * 12, num_envs=8, learning_starts=200,
                    log_dir=str(tmp_path / "i"), progress=False, tensorboard=False, eval_episodes=0)
    iql.train(args)
    c = recsim_marl.make_config("tiny", **kw)
    learned = iql.load_policy(tmp_path / "i" / "checkpoint.pt")
    venv = recsim_marl.VecEnv(c, 2)
    obs = venv.reset(seed=5)
    a = checked_act(learned, "users", obs["users"], obs["action_mask"]["users"], c.num_candidates, 3)
    assert bool((a.sort(-1).values.diff(dim=-1) > 0).all())  # a slate of distinct candidates
    items = FixedLevelPolicy(0)
    mine = evaluate(c, {"users": learned, "items": items}, episodes=16, seed=1000, ranking_metrics=False)
    rand = evaluate(c, {"users": RandomPolicy(4, slate_size=3), "items": items}, episodes=16, seed=1000,
                    ranking_metrics=False)
    assert mine["user_return"][0] > rand["user_return"][0]


def test_the_obd_table_reads_the_shipped_logs_and_simulates_every_choice_model(tmp_path):
    from benchmarks import calibration_obd

    out = calibration_obd.main(["--episodes", "128", "--scenario", "tiny", "--out", str(tmp_path / "obd.json")])
    random = out["data"]["random"]
    assert sum(random["impressions"]) == 30_000 and sum(random["clicks"]) == 130  # three campaign files
    for t in (random, *out["simulated"].values()):
        assert all(x["ci"][0] <= x["ctr"] <= x["ci"][1] for x in t["ctr"])
        assert all(r["ci"][0] <= r["ratio"] <= r["ci"][1] for r in t["ratio_to_first"])
    sim = out["simulated"]
    # looking down a list: lower slots are chosen less under every model, most steeply under the PBM
    assert all(t["ratio_to_first"][1]["ratio"] < 1 for t in sim.values())
    assert sim["pbm"]["ratio_to_first"][1]["ratio"] < sim["cascade"]["ratio_to_first"][1]["ratio"]


def test_the_slate_speed_benchmark_times_every_choice_model(tmp_path, monkeypatch):
    from benchmarks import slates

    assert slates.time_case(2, 2, "tiny", 3, "mnl") > 0  # one real case, in its own process
    monkeypatch.setattr(slates, "time_case", lambda b, steps, scenario, s, model: 100.0 / s)
    out = slates.main(["--scenario", "tiny", "--num-envs", "2", "--rounds", "1", "--slate-size", "4",
                       "--out", str(tmp_path / "s.json")])
    assert set(out["user_steps_per_s"]) == {"S = 1", "S = 4, cascade", "S = 4, pbm", "S = 4, mnl"}
    assert out["ratio_to_one_item"] == {"S = 1": 1.0, "S = 4, cascade": 0.25, "S = 4, pbm": 0.25, "S = 4, mnl": 0.25}


def test_model_based_slates_maximise_the_slates_expected_reward_slot_by_slot():
    from agents.baselines import slate_by_choice_model, top

    gen = torch.Generator().manual_seed(0)
    a = torch.rand(1, 2000, 6, generator=gen) * 0.9 + 0.05
    r = torch.rand(1, 2000, 6, generator=gen) * 3
    value = a * r

    def expected(cfg, slate):
        looked = (torch.tensor(cfg.position_bias) ** torch.arange(3.0)) if cfg.choice_model == "pbm" else torch.ones(3)
        p = choice_probabilities(a.gather(-1, slate), looked, cfg.choice_model, cfg.position_bias)
        return (p * r.gather(-1, slate)).sum(-1)

    for model in MODELS:
        cfg = recsim_marl.make_config("tiny", slate_size=3, choice_model=model)
        built = slate_by_choice_model(cfg, a, value)
        assert bool((built.sort(-1).values.diff(dim=-1) > 0).all())  # distinct
        by_value = top(value, 3)
        if model != "mnl":  # one click at the first that appeals: slot by slot is by expected reward alone
            assert torch.equal(built, by_value)
        else:  # a logit's items compete with each other: a slate of the best alone is not the best slate
            assert float(expected(cfg, built).mean()) > float(expected(cfg, by_value).mean())
    masked = slate_by_choice_model(cfg, a[:, :1], value[:, :1], torch.tensor([[[True] + [False] * 5]]))
    assert masked[0, 0, 0] == 0 and len(set(masked[0, 0].tolist())) == 3  # the allowed first, then still distinct


def test_every_scripted_user_baseline_acts_slates_and_the_planner_refuses_them():
    from agents.baselines import RolloutPlannerPolicy, user_baselines
    from recsim_marl.core.vec_env import VecEnv

    c = recsim_marl.make_config(**TINY, slate_size=3)
    venv = VecEnv(c, 2, validate=True)
    obs = venv.reset(seed=[0, 1])
    pols = user_baselines(c, ranker_weights={})
    for name, p in pols.items():
        if hasattr(p, "bind"):
            p.bind(venv)
        a = p.act(obs["users"], obs["action_mask"]["users"])
        assert a.shape == (2, c.num_users, 3), name
        assert bool((a.sort(-1).values.diff(dim=-1) > 0).all()), f"{name} repeats a candidate"
    venv.step({"users": a, "items": torch.zeros(2, c.num_items, dtype=torch.long)})  # validated: a real slate
    with pytest.raises(ValueError, match="slate_size=3"):
        RolloutPlannerPolicy(c)


def test_a_sequential_choice_model_slate_samples_what_its_log_probability_says():
    """``choice_model_slate`` with a scale is a distribution over ordered slates: drawn slates come as often
    as their log-probabilities say (each slot a softmax over the candidates not yet taken), the log-probability
    read back for a given slate is the one it was drawn with, and without a scale it is the greedy slate."""
    from itertools import permutations

    from agents.baselines import choice_model_slate, slate_by_choice_model

    cfg = recsim_marl.make_config("tiny", slate_size=2, choice_model="mnl")
    a = torch.tensor([[[0.6, 0.3, 0.5, 0.2]]])
    r = torch.tensor([[[1.0, 2.0, 0.5, 1.5]]])
    n = 20_000
    big_a, big_r = a.expand(1, n, 4), r.expand(1, n, 4)
    slate, logp, entropy = choice_model_slate(cfg, big_a, big_r, scale=3.0, gen=torch.Generator().manual_seed(0))
    again = choice_model_slate(cfg, big_a, big_r, scale=3.0, slate=slate)[1]
    assert torch.allclose(logp, again)
    assert bool((entropy > 0).all()) and bool((slate[..., 0] != slate[..., 1]).all())
    total = 0.0
    for s in permutations(range(4), 2):
        p = float(choice_model_slate(cfg, a, r, scale=3.0, slate=torch.tensor([[list(s)]]))[1].exp())
        seen = float(((slate[0, :, 0] == s[0]) & (slate[0, :, 1] == s[1])).float().mean())
        assert abs(seen - p) < 4 * (p * (1 - p) / n) ** 0.5 + 1e-3, (s, seen, p)
        total += p
    assert abs(total - 1.0) < 1e-5
    greedy = choice_model_slate(cfg, a, r)[0]
    assert torch.equal(greedy, slate_by_choice_model(cfg, a, a * r))
    assert torch.equal(greedy, choice_model_slate(cfg, a, r, scale=3.0)[0])  # the most likely slot by slot
