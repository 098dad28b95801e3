"""Issue 10, hardening: batch independence, copies, bounds, caches and small worlds."""

import torch

import recsim_marl
from recsim_marl.core.state import State


def _state_rows(s: State, b: int) -> dict:
    return {f: getattr(s, f)[b] for f in State.__dataclass_fields__}


def test_env_b_of_a_batch_is_bit_identical_to_a_single_env_across_auto_reset():
    # tiny (4 people): torch.sigmoid gave 64 batched worlds other last bits than one world alone
    batch = recsim_marl.make_vec(64, scenario="tiny", encoder="hash")
    c = batch.config
    picks = (0, 5, 37, 63)
    singles = {b: recsim_marl.make_vec(1, scenario="tiny", encoder="hash") for b in picks}
    batch.reset(seed=1000)
    for b, v in singles.items():
        v.reset(seed=1000 + b)
    gen = torch.Generator().manual_seed(1)
    resets = 0
    for t in range(2 * c.max_cycles + 3):  # two episodes and more: auto-reset included
        ua = torch.randint(0, c.num_candidates, (64, c.num_users), generator=gen)
        ia = torch.randint(0, c.num_levels, (64, c.num_items), generator=gen)
        _, rew, _, _, info = batch.step({"users": ua, "items": ia})
        resets += int(info["done"].sum())
        for b, v in singles.items():
            _, r1, _, _, i1 = v.step({"users": ua[b : b + 1], "items": ia[b : b + 1]})
            for g in ("users", "items"):
                assert torch.equal(rew[g][b], r1[g][0]), (t, b, g)
            assert torch.equal(info["done"][b], i1["done"][0]), (t, b)
            rows, one = _state_rows(batch.current, b), _state_rows(v.current, 0)
            for f in rows:
                assert torch.equal(rows[f], one[f]), (t, b, f)
    assert resets >= 64  # every world finished at least once
