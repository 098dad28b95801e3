"""Multi-step determinism, batch-slice parity and core-vs-parallel_env parity."""

import numpy as np
import torch

import recsim_marl


def random_actions(venv, gen):
    b = venv.num_envs
    return {
        g: torch.randint(0, venv.num_actions[g], (b, venv.num_agents[g]), generator=gen)
        for g in ("users", "items")
    }


def rollout_parallel(seed, steps, **kw):
    env = recsim_marl.parallel_env(scenario="tiny", **kw)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(123)
    trace = []
    for _ in range(steps):
        if not env.agents:
            obs, _ = env.reset()  # next episode of the same seed
        actions = {a: int(rng.integers(env.action_space(a).n)) for a in env.agents}
        obs, rew, term, trunc, _ = env.step(actions)
        trace.append((sorted(obs.items()), sorted(rew.items()), sorted(term.items()), sorted(trunc.items())))
    return trace


def assert_traces_equal(t1, t2):
    assert len(t1) == len(t2)
    for s1, s2 in zip(t1, t2):
        for (a1, x1), (a2, x2) in zip(s1[0], s2[0]):
            assert a1 == a2 and np.array_equal(x1, x2)
        assert s1[1:] == s2[1:]


def test_parallel_env_is_deterministic_over_many_steps_and_episodes():
    # 70 steps span three episodes of 25 steps: seeds, resets and auto-reset counters all matter
    t1 = rollout_parallel(7, 70)
    t2 = rollout_parallel(7, 70)
    assert_traces_equal(t1, t2)
    t3 = rollout_parallel(8, 70)
    assert any(not np.array_equal(a[0][0][1], b[0][0][1]) for a, b in zip(t1, t3)), "seed must matter"


def test_env_b_of_a_batch_equals_a_single_env_with_its_seed():
    steps = 60  # crosses two auto-resets (max_cycles=25)
    venv = recsim_marl.make_vec(num_envs=5, scenario="tiny")
    gen = torch.Generator().manual_seed(0)
    venv_actions = [random_actions(venv, gen) for _ in range(steps)]
    obs = venv.reset(seed=100)
    batch = [obs["users"]]
    single_env = recsim_marl.make_vec(num_envs=1, scenario="tiny")
    b = 3
    obs1 = single_env.reset(seed=100 + b)
    single = [obs1["users"]]
    for acts in venv_actions:
        o, r, te, tr, info = venv.step(acts)
        batch.append((o, r, te, tr, info))
        o1, r1, te1, tr1, info1 = single_env.step({g: a[b : b + 1] for g, a in acts.items()})
        single.append((o1, r1, te1, tr1, info1))
    assert torch.equal(batch[0][b], single[0][0])
    dones = 0
    for (o, r, te, tr, info), (o1, r1, te1, tr1, info1) in zip(batch[1:], single[1:]):
        for g in ("users", "items"):
            assert torch.equal(o[g][b], o1[g][0])
            assert torch.equal(r[g][b], r1[g][0])
            assert torch.equal(te[g][b], te1[g][0])
            assert torch.equal(tr[g][b], tr1[g][0])
        assert bool(info["done"][b]) == bool(info1["done"][0])
        if info1["done"][0]:
            dones += 1
            assert torch.equal(info["final_observation"]["users"][b], info1["final_observation"]["users"][0])
            assert info["episode"]["user_return"][b] == info1["episode"]["user_return"][0]
    assert dones == 2


def test_parallel_env_matches_the_core():
    env = recsim_marl.parallel_env(scenario="tiny")
    venv = recsim_marl.make_vec(num_envs=1, scenario="tiny")
    obs, infos = env.reset(seed=5)
    vobs = venv.reset(seed=5)
    rng = np.random.default_rng(1)
    c = env.config
    for _t in range(c.max_cycles):
        for k in range(c.num_users):
            if f"user_{k}" in obs:
                assert np.array_equal(obs[f"user_{k}"], vobs["users"][0, k].numpy())
        for k in range(c.num_items):
            assert np.array_equal(obs[f"item_{k}"], vobs["items"][0, k].numpy())
            assert np.array_equal(infos[f"item_{k}"]["action_mask"], vobs["action_mask"]["items"][0, k].numpy())
        ua = rng.integers(c.num_candidates, size=c.num_users)
        ia = rng.integers(c.num_levels, size=c.num_items)
        actions = {f"user_{k}": int(ua[k]) for k in range(c.num_users) if f"user_{k}" in env.agents}
        actions.update({f"item_{k}": int(ia[k]) for k in range(c.num_items)})
        obs, rew, term, trunc, infos = env.step(actions)
        vobs, vrew, vterm, vtrunc, vinfo = venv.step(
            {"users": torch.as_tensor(ua)[None], "items": torch.as_tensor(ia)[None]})
        for a in rew:
            g, k = env.agent_index[a]
            assert rew[a] == float(vrew[g][0, k])
            assert term[a] == bool(vterm[g][0, k]) and trunc[a] == bool(vtrunc[g][0, k])
        if not env.agents:
            final = vinfo["final_observation"]
            for a, o in obs.items():
                g, k = env.agent_index[a]
                assert np.array_equal(o, final[g][0, k].numpy())
            assert bool(vinfo["done"][0])
            break
    # after the episode, reset() without a seed plays the next episode: the one the core auto-reset into
    obs, _ = env.reset()
    for k in range(c.num_items):
        assert np.array_equal(obs[f"item_{k}"], vobs["items"][0, k].numpy())
    for k in range(c.num_users):
        assert np.array_equal(obs[f"user_{k}"], vobs["users"][0, k].numpy())


def test_batch_size_and_retrieval_chunking_do_not_change_trajectories():
    # default scenario; the second batch splits retrieval into many chunks of people: still bit-identical
    big = recsim_marl.make_vec(num_envs=4, scenario="default")
    small = recsim_marl.make_vec(num_envs=2, scenario="default", retrieval_memory_mb=0.05)
    ob, os_ = big.reset(seed=0), small.reset(seed=[2, 3])
    gen = torch.Generator().manual_seed(0)
    for _ in range(8):
        assert torch.equal(ob["users"][2:4], os_["users"])
        assert torch.equal(ob["items"][2:4], os_["items"])
        acts = random_actions(big, gen)
        ob, rb, *_ = big.step(acts)
        os_, rs, *_ = small.step({g: a[2:4] for g, a in acts.items()})
        assert torch.equal(rb["users"][2:4], rs["users"])
