"""The TorchRL door: ``RecSimEnv`` passes TorchRL's own spec check and follows the core exactly."""

import pytest
import torch

import recsim_marl

pytest.importorskip("torchrl")
from torchrl.envs.utils import check_env_specs  # noqa: E402

from recsim_marl.integrations.torchrl import RecSimEnv  # noqa: E402


@pytest.mark.parametrize("scenario", ["tiny", "marketplace", "creators"])
def test_check_env_specs(scenario):
    kw = {"num_users": 8, "num_items": 40, "encoder": "hash"} if scenario in ("marketplace", "creators") else {}
    check_env_specs(RecSimEnv(scenario=scenario, num_envs=4, seed=3, **kw))


def test_rollout_replays_the_core_step_for_step():
    # a TorchRL rollout across auto-resets, its actions replayed on the core: the same rewards, the
    # final observation at each episode's end, and the next episode's first observation after reset
    b, steps = 6, 70
    env = RecSimEnv(scenario="tiny", num_envs=b, seed=100)
    torch.manual_seed(0)
    r = env.rollout(steps, break_when_any_done=False)
    venv = recsim_marl.make_vec(b, scenario="tiny", validate=False)
    obs = venv.reset(seed=100)
    ended = 0
    for t in range(steps):
        assert torch.equal(r["users", "observation"][:, t], obs["users"])
        assert torch.equal(r["items", "action_mask"][:, t], obs["action_mask"]["items"])
        acts = {g: r[g, "action"][:, t] for g in ("users", "items")}
        obs, rew, term, trunc, info = venv.step(acts)
        for g in ("users", "items"):
            assert torch.equal(r["next", g, "reward"][:, t, :, 0], rew[g])
        done = info["done"]
        assert torch.equal(r["next", "done"][:, t, 0], done)
        for e in done.nonzero().flatten().tolist():
            ended += 1
            assert torch.equal(r["next", "users", "observation"][e, t], info["final_observation"]["users"][e])
            assert torch.equal(r["next", "state"][e, t], info["final_observation"]["state"][e])
    assert ended >= b  # every env finished at least one episode inside the rollout


def test_people_who_leave_stay_done_until_their_env_resets():
    env = RecSimEnv(scenario="boredom", num_envs=4, seed=1, num_users=16, num_items=64, encoder="hash")
    torch.manual_seed(1)
    r = env.rollout(40, break_when_any_done=False)
    done = r["next", "users", "done"][..., 0]  # [B, T, U]
    env_done = r["next", "done"][..., 0]  # [B, T]
    term = r["next", "users", "terminated"][..., 0]
    assert bool(term.any())  # some people left
    for e in range(4):
        for t in range(39):
            if not bool(env_done[e, t]):  # within an episode, once done always done
                assert bool((done[e, t + 1] >= done[e, t]).all())
            else:  # a new episode: everybody back
                assert not bool(r["users", "done"][e, t + 1].any())
    # the people still there when an episode ends at the horizon are truncated, not terminated
    trunc = r["next", "users", "truncated"][..., 0]
    assert not bool((trunc & term).any())


def test_full_reset_continues_with_the_next_episode_and_set_seed_restarts():
    env = RecSimEnv(scenario="tiny", num_envs=2, seed=7)
    first = env.reset()["users", "observation"]
    second = env.reset()["users", "observation"]
    assert not torch.equal(first, second)
    env.set_seed(7)
    assert torch.equal(env.reset()["users", "observation"], first)
