"""benchmarks.headroom: the diagnostic runs, and its 'observations only' policies read no hidden state."""

import dataclasses

import pytest
import torch

import recsim_marl
from agents.baselines import FixedLevelPolicy
from recsim_marl.core.vec_env import VecEnv


def _scrambled(venv):
    """The env's state with every hidden variable of the people changed, the observation untouched."""
    s = venv.get_state()
    g = torch.Generator().manual_seed(1)
    s.interest = torch.nn.functional.normalize(torch.randn(s.interest.shape, generator=g), dim=-1)
    s.boredom = torch.randn(s.boredom.shape, generator=g)
    s.traits = s.traits * torch.exp(torch.randn(s.traits.shape, generator=g))
    s.trust = torch.rand(s.trust.shape, generator=g)
    return s


def _three_steps_of_memory(slate_size):
    """``(config, venv, obs, memory)`` after the memory policy played three steps of 4 tiny worlds: the
    people have clicks and boredom, and the memory's estimate has learned from them."""
    from agents.baselines import MemoryPolicy

    c = recsim_marl.make_config("tiny", num_users=16, num_items=40, num_candidates=8, encoder="hash",
                                slate_size=slate_size)
    venv = VecEnv(c, 4)
    obs = venv.reset(seed=list(range(4)))
    memory = MemoryPolicy(c, 0.1, 0.1)
    memory.bind(venv)
    for _ in range(3):
        obs, *_ = venv.step({"users": memory.act(obs["users"], obs["action_mask"]["users"]),
                             "items": FixedLevelPolicy(0).act(obs["items"], None)})
    return c, venv, obs, memory


@pytest.mark.parametrize("slate_size", [1, 3])
def test_the_observation_only_policies_ignore_hidden_state_and_the_oracle_does_not(slate_size):
    from agents.baselines import MemoryPolicy
    from benchmarks.headroom import REPLACEMENTS, ObservedOracle

    c, venv, obs, memory = _three_steps_of_memory(slate_size)

    def acts(policy, state):
        venv.set_state(state)
        policy.bind(venv)
        return policy.act(obs["users"], obs["action_mask"]["users"])

    real, fake = venv.get_state(), _scrambled(venv)
    blind = ObservedOracle(c, tuple(REPLACEMENTS))
    assert torch.equal(acts(blind, real), acts(blind, fake))
    twin = MemoryPolicy(c, 0.1, 0.1)
    twin.__dict__.update({k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in memory.__dict__.items()})
    mine = acts(twin, real)
    assert mine.shape == (4, c.num_users) + ((slate_size,) if slate_size > 1 else ())
    assert torch.equal(mine, acts(memory, fake))
    assert memory.p.shape == (4, c.num_users, c.embed_dim) and not torch.equal(memory.p, memory.lay.read(
        obs["users"], "estimate")), "the memory's estimate learned nothing from three steps"
    oracle = ObservedOracle(c, ())  # nothing replaced: the privileged oracle, which must notice
    assert not torch.equal(acts(oracle, real), acts(oracle, fake))


def test_the_headroom_benchmark_writes_every_row(tmp_path):
    from benchmarks import headroom

    out = tmp_path / "headroom.json"
    payload = headroom.main(["--quick", "--worlds", "2", "--out", str(out)])
    rows = payload["rows"]
    assert payload["split"] == "validation"  # new items and people, never the test split
    assert {"model-based", "linear ranker", "farsighted oracle*", "farsighted formula on observations only (all replaced)",
            "memory (own interest estimate from clicks and watched shares)"} <= set(rows)
    assert sum(name.startswith("farsighted oracle*, ") for name in rows) == len(headroom.REPLACEMENTS)
    assert {f"farsighted formula on observations and the true {h}*" for h in headroom.REPLACEMENTS} <= set(rows)
    assert "farsighted formula on observations and the true interest and traits*" in rows
    assert all(len(r["per_world"]) == 2 for r in rows.values())
    assert out.exists() and out.with_suffix(".md").read_text().startswith("| policy |")


def test_the_headroom_benchmark_takes_slate_tasks(tmp_path, capsys):
    from benchmarks import headroom

    payload = headroom.main(["--quick", "--task", "slates-v1", "--worlds", "2", "--out", str(tmp_path / "h.json")])
    assert all(len(r["per_world"]) == 2 for r in payload["rows"].values())
    assert "memory, its values ranked top-S (not built under the choice model)" in payload["rows"]
    with pytest.raises(SystemExit):  # refused before anything runs: the planner recommends single items
        headroom.main(["--quick", "--task", "slates-v1", "--planner", "--out", str(tmp_path / "p.json")])
    assert not (tmp_path / "p.json").exists() and "drop --planner" in capsys.readouterr().err


def test_the_ranked_memory_shows_its_s_best_values_and_keeps_learning():
    from benchmarks.headroom import RankedMemory

    c = recsim_marl.make_config("tiny", num_users=16, num_items=40, num_candidates=8, encoder="hash", slate_size=3)
    venv = VecEnv(c, 4)
    obs = venv.reset(seed=list(range(4)))
    ranked = RankedMemory(c, 0.1, 0.1)
    ranked.bind(venv)
    for _ in range(3):
        mask = obs["action_mask"]["users"]
        slate = ranked.act(obs["users"], mask)
        p, q, now = ranked.estimates(obs["users"], ranked.p)
        value = (now + ranked.future_weight * p * (2 * q - 1)).masked_fill(~mask, float("-inf"))
        assert torch.equal(slate, value.topk(3, -1).indices)  # the three best, best on top
        obs, *_ = venv.step({"users": slate, "items": FixedLevelPolicy(0).act(obs["items"], None)})
    assert not torch.equal(ranked.p, ranked.lay.read(obs["users"], "estimate")), "its estimate learned nothing"


@pytest.mark.parametrize("slate_size", [1, 3])
def test_each_true_input_row_reads_that_hidden_input_and_no_other(slate_size):
    """'Observations and the true X': scrambling any other hidden input (each of the traits on its own too,
    such as how much boredom weighs) leaves its actions alone; scrambling X changes them."""
    from benchmarks.headroom import REPLACEMENTS, ObservedOracle
    from recsim_marl.models.user import TRAITS

    c, venv, obs, _ = _three_steps_of_memory(slate_size)
    real, catalogue = venv.get_state(), venv.catalogue
    g = torch.Generator().manual_seed(1)

    def scrambled(group):
        """(state, catalogue) with one hidden input of the people or items redrawn; the observation untouched."""
        s, k = real.clone(), catalogue
        if group == "interest":
            s.interest = torch.nn.functional.normalize(torch.randn(s.interest.shape, generator=g), dim=-1)
            s.boredom = torch.randn(s.boredom.shape, generator=g)
        elif group.startswith("traits"):
            j = TRAITS.index(group.split(":")[1])
            s.traits = s.traits.clone()
            s.traits[..., j] = s.traits[..., j] * torch.exp(2 * torch.randn(s.traits[..., j].shape, generator=g))
        elif group == "trust":
            s.trust = torch.rand(s.trust.shape, generator=g)
        else:  # appeal, quality: the items'
            k = dataclasses.replace(catalogue, **{group: 3 * torch.randn(getattr(catalogue, group).shape, generator=g)})
        return s, k

    def acts(policy, state):
        venv.set_state(state[0])
        venv.catalogue = state[1]
        policy.bind(venv)
        return policy.act(obs["users"], obs["action_mask"]["users"])

    groups = {"interest": ["interest"], "traits": [f"traits:{t}" for t in TRAITS], "trust": ["trust"],
              "appeal": ["appeal"], "quality": ["quality"]}
    for hidden in REPLACEMENTS:
        policy = ObservedOracle(c, tuple(h for h in REPLACEMENTS if h != hidden))
        base = acts(policy, (real, catalogue))
        for other, names in groups.items():
            for name in names:
                if other != hidden:
                    assert torch.equal(acts(policy, scrambled(name)), base), f"the true {hidden} row reads {name}"
        if hidden in ("interest", "appeal", "quality"):  # (trust and some traits do nothing in tiny without promotion)
            assert not torch.equal(acts(policy, scrambled(groups[hidden][0])), base), f"it ignores the true {hidden}"
    venv.set_state(real)
    venv.catalogue = catalogue
