"""benchmarks.headroom: the diagnostic runs, and its 'observations only' policies read no hidden state."""

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


def test_the_observation_only_policies_ignore_hidden_state_and_the_oracle_does_not():
    from benchmarks.headroom import REPLACEMENTS, MemoryPolicy, ObservedOracle

    c = recsim_marl.make_config("tiny", num_users=16, num_items=40, num_candidates=8, encoder="hash")
    venv = VecEnv(c, 4)
    obs = venv.reset(seed=list(range(4)))
    for _ in range(3):
        obs, *_ = venv.step({"users": torch.zeros(4, c.num_users, dtype=torch.long),
                             "items": FixedLevelPolicy(0).act(obs["items"], None)})

    def acts(policy, state):
        venv.set_state(state)
        policy.bind(venv)
        return policy.act(obs["users"], obs["action_mask"]["users"])

    real, fake = venv.get_state(), _scrambled(venv)
    blind = ObservedOracle(c, tuple(REPLACEMENTS))
    assert torch.equal(acts(blind, real), acts(blind, fake))
    memory = MemoryPolicy(c, 0.1, 0.1)
    assert torch.equal(acts(memory, real), acts(MemoryPolicy(c, 0.1, 0.1), fake))
    oracle = ObservedOracle(c, ())  # nothing replaced: the privileged oracle, which must notice
    assert not torch.equal(acts(oracle, real), acts(oracle, fake))


def test_the_headroom_benchmark_writes_every_row(tmp_path):
    from benchmarks import headroom

    out = tmp_path / "headroom.json"
    payload = headroom.main(["--quick", "--worlds", "2", "--out", str(out)])
    rows = payload["rows"]
    assert {"model-based", "linear ranker", "farsighted oracle*",
            "farsighted formula on observations only (all replaced)"} <= set(rows)
    assert sum(name.startswith("farsighted oracle*, ") for name in rows) == len(headroom.REPLACEMENTS)
    assert all(len(r["per_world"]) == 2 for r in rows.values())
    assert out.exists() and out.with_suffix(".md").read_text().startswith("| policy |")
