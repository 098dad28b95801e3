"""Each model function against values computed by hand (the arithmetic is in the comments)."""

import math

import pytest
import torch

from recsim_marl.models import _kernels, market, platform, retrieval
from recsim_marl.models import user as um


def t(*x):
    return torch.tensor(x, dtype=torch.float32)


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def close(a, b, tol=1e-6):
    return torch.allclose(torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32), atol=tol)


def test_affinity_is_interest_minus_weighted_boredom():
    # p = (1, 0), h = (0.5, 0.5), e = (0.6, 0.8), gamma = 0.5
    # <p, e> = 0.6 ; <h, e> = 0.3 + 0.4 = 0.7 ; s = 0.6 - 0.5 * 0.7 = 0.25
    assert close(um.affinity(t(1, 0), t(0.5, 0.5), t(0.6, 0.8), 0.5), 0.25)


def test_traits_are_log_normal_around_the_config_and_spread_zero_makes_people_alike():
    import recsim_marl

    c = recsim_marl.make_config("default", trait_spread=0.5, click_bias_spread=1.0, return_rate=0.1,
                                return_rate_spread=1.0)
    n = torch.tensor([[1.0, -1.0, 0.0, 2.0, 1.0, -2.0, 0.5]])
    tr = um.UserModel().sample_traits(c, n)[0]
    e = math.exp
    want = [c.click_bias + 1.0, c.click_appeal * e(-0.5), c.boredom_rate, c.boredom_weight * e(1.0), e(0.5),
            c.initial_budget * e(-1.0), 0.1 * e(0.5)]
    assert close(tr, want, 1e-5)
    capped = um.UserModel().sample_traits(c, torch.tensor([[0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0]]))[0]
    assert float(capped[um.TRAITS.index("boredom_rate")]) == 1.0  # a rate is capped at 1
    alike = um.UserModel().sample_traits(c.replace(trait_spread=0.0, click_bias_spread=0.0, return_rate_spread=0.0), n)[0]
    p = um.UserModel().population(c)
    assert close(alike, [getattr(p, name) for name in um.TRAITS])


def test_click_probability():
    # tau = 8, s = 0.25, c_u = -2, alpha_u = 0.5, appeal a = 1 : logit = 2 - 2 + 0.5 = 0.5 ; sigmoid = 0.622459
    assert close(um.click_probability(t(0.25), t(1.0), t(0.0), t(1.0), 8.0, -2.0, 0.5, 1.5, 2.0), 0.6224593)
    # sponsored at level 2 of 3, xi = 1.5, full trust: + 2/3 * 1.5 = +1 : logit 1.5 ; sigmoid = 0.817574
    assert close(um.click_probability(t(0.25), t(1.0), t(2 / 3), t(1.0), 8.0, -2.0, 0.5, 1.5, 2.0), 0.8175745)
    # the same with trust 0.5, psi = 2: 2/3 * (0.75 - 1.0) = -1/6 : logit 1/3 ; sigmoid = 0.582570
    assert close(um.click_probability(t(0.25), t(1.0), t(2 / 3), t(0.5), 8.0, -2.0, 0.5, 1.5, 2.0), 0.5825702)


def test_satisfaction_ignores_appeal_and_engagement_counts_disappointed_dwell():
    # tau_w = 6, s = 0.25, zeta_w = 0.5, z = -1, s0 = -0.5 : logit = 1.5 - 0.5 - 0.5 = 0.5 ; q = 0.622459
    assert close(um.satisfaction(t(0.25), t(-1.0), 6.0, 0.5, -0.5), 0.6224593)
    # w = click * length * (sat + 0.25 (1 - sat)), length 2: satisfied 2 ; disappointed 0.5 ; no click 0
    assert close(um.engagement(t(1.0, 1.0, 0.0), t(1.0, 0.0, 0.0), t(2.0, 2.0, 2.0), 0.25), [2.0, 0.5, 0.0])
    # a probability in place of the draw gives the expectation: q = 0.6 -> 2 * (0.6 + 0.25 * 0.4) = 1.4
    assert close(um.engagement(t(1.0), t(0.6), t(2.0), 0.25), 1.4)


def test_trust_falls_after_sponsored_disappointments_only_and_recovers_slowly():
    # T = 0.8, delta = 0.3, eps = 0.02, shown 1: disappointed click 0.8 + 0.004 - 0.3 = 0.504
    # satisfied click or no click: 0.8 + 0.02 * 0.2 = 0.804 ; unsponsored disappointment: 0.804
    got = um.update_trust(t(0.8, 0.8, 0.8, 0.8), t(1, 1, 0, 1), t(0, 1, 0, 0), t(1, 1, 1, 0), 0.3, 0.02)
    assert close(got, [0.504, 0.804, 0.804, 0.804])
    assert close(um.update_trust(t(0.1), t(1.0), t(0.0), t(1.0), 0.3, 0.02), 0.0)  # clipped at 0


def test_interest_drifts_toward_liked_and_away_from_disliked_items():
    # p = (1, 0), e = (0, 1), eta = 0.1
    # q = 1 (fully satisfied): p + 0.1 * 1 * ((0, 1) - (1, 0)) = (0.9, 0.1) -> /|.|=0.905539 -> (0.993884, 0.110432)
    p = um.drift_interest(t(1, 0), t(0, 1), t(1.0), t(1.0), 0.1)
    assert close(p, [0.9938837, 0.1104315])
    # q = 0 (disliked): factor 2q - 1 = -1 : (1.1, -0.1) -> /1.104536 -> (0.995893, -0.090536)
    p = um.drift_interest(t(1, 0), t(0, 1), t(1.0), t(0.0), 0.1)
    assert close(p, [0.9958932, -0.0905357])
    # no click: unchanged
    assert close(um.drift_interest(t(1, 0), t(0, 1), t(0.0), t(1.0), 0.1), [1.0, 0.0])


def test_boredom_builds_from_what_was_seen_consumed_and_watched_elsewhere():
    # h = (0.5, 0), e = (0, 1), elsewhere o = (1, 0), rho = 0.2, omega_x = 0.5, omega_o = 0.2
    # click: 0.8 * (0.5, 0) + 0.2 * (1 * (0, 1) + 0.2 * (1, 0)) = (0.44, 0.2)
    assert close(um.update_boredom(t(0.5, 0), t(0, 1), t(1.0), t(1, 0), 0.2, 0.5, 0.2), [0.44, 0.2])
    # shown, not clicked: 0.8 * (0.5, 0) + 0.2 * (0.5 * (0, 1) + (0.2, 0)) = (0.44, 0.1)
    assert close(um.update_boredom(t(0.5, 0), t(0, 1), t(0.0), t(1, 0), 0.2, 0.5, 0.2), [0.44, 0.1])
    # a per-person rate [U] broadcasts over D: rates 0.2 and 0.5
    two = um.update_boredom(torch.zeros(2, 2), t(0, 1).repeat(2, 1), t(1.0, 1.0), torch.zeros(2, 2), t(0.2, 0.5), 0.5, 0.0)
    assert close(two, [[0.0, 0.2], [0.0, 0.5]])


def test_budget():
    # beta = 5, kappa = 1, sigma_u = 1.5: satisfied click 5 - 1 + 1.5 = 5.5 ; no click 4 ; disappointed 5 - 1 - 1.5 = 2.5
    assert close(um.update_budget(t(5, 5, 5), t(1, 0, 1), t(1, 0, 0), 1.0, 1.5), [5.5, 4.0, 2.5])


def test_estimate_moves_toward_clicked_items_only():
    # p_hat = (1, 0), e = (0, 1), lambda = 0.25 : (0.75, 0.25) / 0.790569 = (0.948683, 0.316228)
    assert close(platform.update_estimate(t(1, 0), t(0, 1), t(1.0), 0.25), [0.9486833, 0.3162278])
    assert close(platform.update_estimate(t(1, 0), t(0, 1), t(0.0), 0.25), [1.0, 0.0])


def test_promotion_is_clamped_to_funds_and_paid():
    # L = 4, kappa_p = 0.6 -> each level costs 0.2 ; funds 0.45 affords level 2 (0.4) but not 3 (0.6)
    funds = t(0.45, 10.0, 0.0)[None]
    level, spend = market.pay_for_promotion(torch.tensor([[3, 3, 2]]), funds, 4, 0.6)
    assert level.tolist() == [[2, 3, 0]]
    assert close(spend, [[0.4, 0.6, 0.0]])
    mask = market.level_mask(funds, 4, 0.6)
    assert mask.tolist() == [[[True, True, True, False], [True] * 4, [True, False, False, False]]]


def test_item_reward_and_team_mixing():
    # v = 2, clicks (3, 0), spend (0.5, 0.25) : (6 - 0.5, 0 - 0.25) = (5.5, -0.25)
    r = market.item_rewards(t(3, 0)[None], t(0.5, 0.25)[None], 2.0)
    assert close(r, [[5.5, -0.25]])
    # alpha = 0.5 over both agents: mean 2.625 ; 0.5 * 5.5 + 0.5 * 2.625 = 4.0625 ; 0.5 * -0.25 + 1.3125 = 1.1875
    mixed = market.team_mix(r, torch.ones(1, 2, dtype=torch.bool), 0.5)
    assert close(mixed, [[4.0625, 1.1875]])
    # an inactive agent neither counts in the mean nor gets a reward
    mixed = market.team_mix(r, torch.tensor([[True, False]]), 0.5)
    assert close(mixed, [[5.5, 0.0]])


BACKENDS = ["torch"] + (["kernel"] if _kernels.available() else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_retrieval_ranks_by_estimate_plus_promotion(backend):
    # one person p_hat = (1, 0); items e0 = (1, 0), e1 = (0.8, 0.6), e2 = (0, 1)
    # scores without promotion: 1.0, 0.8, 0.0 ; a bonus of 0.3 on item 1 makes it 1.1 > 1.0
    est = t(1, 0).reshape(1, 1, 2)
    content_t = t(1, 0.8, 0, 0, 0.6, 1).reshape(2, 3)
    ub = torch.zeros(1, 1, dtype=torch.int32)
    ib = torch.zeros(1, 3, dtype=torch.int32)
    no_bonus = torch.zeros(1, 3)
    assert retrieval.retrieve(est, content_t, no_bonus, ub, ib, None, 2, 1.0, backend).tolist() == [[[0, 1]]]
    bonus = t(0, 0.3, 0)[None]
    assert retrieval.retrieve(est, content_t, bonus, ub, ib, None, 2, 1.0, backend).tolist() == [[[1, 0]]]
    # noise: quantile number (a_u + b_i) mod 2**16 of item 2 is the largest one, which lifts it to the top
    table = retrieval.noise_table(0.2)
    ib = torch.tensor([[0, 0, 2**16 - 1]], dtype=torch.int32)
    assert float(table[-1]) > 2.0
    assert retrieval.retrieve(est, content_t, no_bonus, ub, ib, table, 2, 1.0, backend).tolist() == [[[2, 0]]]


def test_retrieval_noise_is_gumbel():
    # (a + b) mod 2**16 of independent 16-bit uniforms is uniform, so the pair noise has the Gumbel
    # mean 0.5772 and variance pi^2 / 6 = 1.6449
    table = retrieval.noise_table(1.0)
    assert abs(float(table.double().mean()) - 0.5772) < 1e-3
    assert abs(float(table.double().var()) - math.pi**2 / 6) < 1e-2
    gen = torch.Generator().manual_seed(0)
    bits = lambda n: torch.randint(0, 2**16, (1, n), generator=gen, dtype=torch.int32)  # noqa: E731
    g = retrieval.pair_noise(bits(300), bits(300), table)
    assert g.shape == (1, 300, 300)
    assert abs(float(g.mean()) - 0.5772) < 0.05
    assert abs(float(g.var()) - math.pi**2 / 6) < 0.15
    assert retrieval.noise_table(0.5).data_ptr() == retrieval.noise_table(0.5).data_ptr()  # made once


def _retrieval_case(seed, b=3, u=50, i=400, d=8):
    gen = torch.Generator().manual_seed(seed)
    est = torch.nn.functional.normalize(torch.randn(b, u, d, generator=gen), dim=-1)
    content_t = torch.nn.functional.normalize(torch.randn(i, d, generator=gen), dim=-1).T.contiguous()
    bonus = torch.rand(b, i, generator=gen)
    ub = torch.randint(0, 2**16, (b, u), generator=gen, dtype=torch.int32)
    ib = torch.randint(0, 2**16, (b, i), generator=gen, dtype=torch.int32)
    return est, content_t, bonus, ub, ib


@pytest.mark.parametrize("backend", BACKENDS)
def test_chunked_retrieval_equals_unchunked(backend):
    est, content_t, bonus, ub, ib = _retrieval_case(1)
    table = retrieval.noise_table(0.1)
    whole = retrieval.retrieve(est, content_t, bonus, ub, ib, table, 7, 1000.0, backend)
    assert retrieval.num_chunks(3, 50, 400, 0.05) > 3
    chunked = retrieval.retrieve(est, content_t, bonus, ub, ib, table, 7, 0.05, backend)
    assert torch.equal(whole, chunked)


@pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")
@pytest.mark.parametrize("noise", [0.0, 0.05, 1.0])
@pytest.mark.parametrize("k", [1, 7, 40])
def test_compiled_kernel_gives_the_torch_lists(noise, k):
    for seed in range(3):
        est, content_t, bonus, ub, ib = _retrieval_case(10 + seed)
        table = retrieval.noise_table(noise) if noise > 0 else None
        fast = retrieval.retrieve(est, content_t, bonus, ub, ib, table, k, 1000.0, "kernel")
        slow = retrieval.retrieve(est, content_t, bonus, ub, ib, table, k, 1000.0, "torch")
        assert torch.equal(fast, slow)


@pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")
@pytest.mark.parametrize("k", [1, 2, 4, 5, 6])
def test_compiled_kernel_threshold_keeps_every_tie_at_the_cut(k):
    # the kernel keeps the items above a bisected threshold: rows where it lands exactly on tied values,
    # where every value is equal, and where one value is far from the rest (a range the halvings barely
    # narrow) still give torch's lists
    rows = [[0.5, 0.9, 0.5, 0.1, 0.9, 0.5], [0.3] * 6, [1e6, 0.0, 1e-7, -1e-7, 0.0, 2e-7],
            [-5.0, -5.0, -4.0, -5.0, -3.0, -5.0]]
    scores = torch.tensor(rows).unsqueeze(1)  # [4, 1, 6]: four worlds of one person
    zero_b, ub, ib = torch.zeros(4, 6), torch.zeros(4, 1, dtype=torch.int32), torch.zeros(4, 6, dtype=torch.int32)
    top = _kernels.noisy_topk(scores, zero_b, ub, ib, None, k)
    assert torch.equal(top, retrieval.ranked_topk(scores, k))
    if k == 4:
        assert top[0].tolist() == [[1, 4, 0, 2]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_both_backends_rank_equal_scores_by_index(backend):
    # exact ties happen (items with the same text; noise from a table): every backend, on every device,
    # must put the lower index first, as torch.topk alone does not promise. Negative scores and
    # +0.0 / -0.0 (equal) included; items that tie straddle the cut at k = 4.
    vals = [0.5, 0.9, 0.5, -0.25, 0.9, 0.5, -0.0, 0.0, -0.25, -3.0]
    scores = torch.tensor(vals).reshape(1, 1, 10)
    est = torch.ones(1, 1, 1)
    content_t = scores.reshape(1, 10)  # score = 1 * content
    zero_b, ub, ib = torch.zeros(1, 10), torch.zeros(1, 1, dtype=torch.int32), torch.zeros(1, 10, dtype=torch.int32)
    for k, want in ((4, [1, 4, 0, 2]), (7, [1, 4, 0, 2, 5, 6, 7]), (10, [1, 4, 0, 2, 5, 6, 7, 3, 8, 9])):
        got = retrieval.retrieve(est, content_t, zero_b, ub, ib, None, k, 1.0, backend)
        assert got.tolist() == [[want]]
    assert retrieval.ranked_topk(scores, 6).tolist() == [[[1, 4, 0, 2, 5, 6]]]


def test_retrieval_backend_errors_are_clear():
    est, content_t, bonus, ub, ib = _retrieval_case(0)
    with pytest.raises(ValueError, match="backend must be"):
        retrieval.retrieve(est, content_t, bonus, ub, ib, None, 3, 1.0, "gpu")
