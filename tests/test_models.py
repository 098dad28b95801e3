"""Each model function against values computed by hand (the arithmetic is in the comments)."""

import math

import torch

from recsim_marl.models import market, retrieval
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


def test_click_probability():
    # tau = 8, s = 0.25, zeta = 0.5, z = 1, c0 = -2 : logit = 2 + 0.5 - 2 = 0.5 ; sigmoid(0.5) = 0.622459
    assert close(um.click_probability(t(0.25), t(1.0), 8.0, 0.5, -2.0), 0.6224593)


def test_satisfaction_and_engagement():
    # tau_w = 6, s = 0.25, zeta_w = 0.5, z = -1 : logit = 1.5 - 0.5 = 1 ; q = sigmoid(1) = 0.731059
    q = um.satisfaction(t(0.25), t(-1.0), 6.0, 0.5)
    assert close(q, 0.7310586)
    # w = click * q * length = 1 * 0.731059 * 2 = 1.462117 ; no click -> 0
    assert close(um.engagement(t(1.0, 0.0), q.repeat(2), t(2.0, 2.0)), [1.4621172, 0.0])


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


def test_boredom_is_a_moving_average_of_clicked_content():
    # h = (0.5, 0), e = (0, 1), rho = 0.2 : 0.8 * (0.5, 0) + 0.2 * (0, 1) = (0.4, 0.2)
    assert close(um.update_boredom(t(0.5, 0), t(0, 1), t(1.0), 0.2), [0.4, 0.2])
    # no click: decay only, (0.4, 0)
    assert close(um.update_boredom(t(0.5, 0), t(0, 1), t(0.0), 0.2), [0.4, 0.0])


def test_budget():
    # beta = 5, kappa = 1, click, q = 0.9 : 5 - 1 + 1 * (2 * 0.9 - 1) = 4.8
    # no click: 5 - 1 = 4 ; click with q = 0.2 : 5 - 1 + (0.4 - 1) = 3.4
    assert close(um.update_budget(t(5, 5, 5), t(1, 0, 1), t(0.9, 0.9, 0.2), 1.0), [4.8, 4.0, 3.4])


def test_estimate_moves_toward_clicked_items_only():
    # p_hat = (1, 0), e = (0, 1), lambda = 0.25 : (0.75, 0.25) / 0.790569 = (0.948683, 0.316228)
    assert close(um.update_estimate(t(1, 0), t(0, 1), t(1.0), 0.25), [0.9486833, 0.3162278])
    assert close(um.update_estimate(t(1, 0), t(0, 1), t(0.0), 0.25), [1.0, 0.0])


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


def test_retrieval_ranks_by_estimate_plus_promotion():
    # one person p_hat = (1, 0); items e0 = (1, 0), e1 = (0.8, 0.6), e2 = (0, 1)
    # scores without promotion: 1.0, 0.8, 0.0 ; a bonus of 0.3 on item 1 makes it 1.1 > 1.0
    est = t(1, 0).reshape(1, 1, 2)
    content_t = t(1, 0.8, 0, 0, 0.6, 1).reshape(2, 3)
    u = torch.full((1, 1), 0.5)
    iu = torch.full((1, 3), 0.5)
    no_bonus = torch.zeros(1, 3)
    assert retrieval.retrieve(est, content_t, no_bonus, u, iu, 2, 0.0, 1.0).tolist() == [[[0, 1]]]
    bonus = t(0, 0.3, 0)[None]
    assert retrieval.retrieve(est, content_t, bonus, u, iu, 2, 0.0, 1.0).tolist() == [[[1, 0]]]


def test_retrieval_noise_is_gumbel():
    # frac(x + y) of independent uniforms is uniform, so the pair noise has the Gumbel mean 0.5772
    # and variance pi^2 / 6 = 1.6449
    gen = torch.Generator().manual_seed(0)
    g = retrieval.gumbel_pairs(torch.rand(1, 300, generator=gen), torch.rand(1, 300, generator=gen))
    assert abs(float(g.mean()) - 0.5772) < 0.05
    assert abs(float(g.var()) - math.pi**2 / 6) < 0.15


def test_chunked_retrieval_equals_unchunked():
    gen = torch.Generator().manual_seed(1)
    est = torch.nn.functional.normalize(torch.randn(3, 50, 8, generator=gen), dim=-1)
    content_t = torch.nn.functional.normalize(torch.randn(400, 8, generator=gen), dim=-1).T.contiguous()
    bonus = torch.rand(3, 400, generator=gen)
    uu, iu = torch.rand(3, 50, generator=gen), torch.rand(3, 400, generator=gen)
    whole = retrieval.retrieve(est, content_t, bonus, uu, iu, 7, 0.1, 1000.0)
    assert retrieval.num_chunks(3, 50, 400, 0.05) > 3
    chunked = retrieval.retrieve(est, content_t, bonus, uu, iu, 7, 0.1, 0.05)
    assert torch.equal(whole, chunked)
