"""``evaluate``: run policies on a batch of worlds and report the metrics of their episodes.

Apart from the policy protocol (:mod:`agents.policy`): evaluation plays episodes side by side in a fresh
``VecEnv`` and measures them (returns, clicks, churn, exposure, and ranking metrics against the hidden
truth through the env's own user model).
"""

from __future__ import annotations

import torch

import recsim_marl
from agents.policy import GROUPS, Policy, checked_act
from recsim_marl.core.world import take
from recsim_marl.models.user import Traits

RELEVANT_AFFINITY = 0.3
"""A person finds an item truly relevant when its hidden affinity <p, e> - gamma <h, e> is at least this."""


def _gini(x: torch.Tensor) -> torch.Tensor:
    """Gini coefficient along the last dim (0 = equal exposure, 1 = one item gets everything)."""
    xs = torch.sort(x, dim=-1).values
    n = xs.shape[-1]
    idx = torch.arange(1, n + 1, device=x.device, dtype=xs.dtype)
    total = xs.sum(-1).clamp_min(1e-9)
    return ((2 * idx - n - 1) * xs).sum(-1) / (n * total)


def evaluate(env_or_vec, policies: dict[str, Policy], episodes: int = 5, seed: int = 0,
             relevant_affinity: float = RELEVANT_AFFINITY, device=None,
             ranking_metrics: bool = True, per_episode: bool = False) -> dict:
    """Run ``episodes`` episodes (seeds ``seed .. seed+episodes-1``) and return ``{metric: (mean, std)}``.

    ``env_or_vec``: a scenario name, an ``EnvConfig``, a ``parallel_env`` or a ``VecEnv`` (only its
    config is used: evaluation runs all episodes side by side in a fresh ``VecEnv`` on ``device``,
    by default the given env's device, else the CPU; the policies must accept tensors there).
    Metrics per episode: user_return (per person), ctr, disappointment (share of clicks that did not
    satisfy), engagement (per person), churn (share of people not present at the end: gone, or away),
    visits (visits started per person), return_time (mean steps away before a return, as KuaiSim's
    "return time"; 0 when nobody came back), coverage (share of items recommended at least once), exposure_gini,
    provider_profit (per item), ndcg (the retrieved candidate list's order vs true affinity: the platform's
    retrieval, much the same under every recommender), pick_ndcg (NDCG@S of each recommendation among its
    candidates, S = ``slate_size``, 1 by default: the true affinities of what was shown, in its order, against the
    S best candidates', gains shifted to be >= 0), diversity (1 - mean pairwise
    cosine within candidate lists), precision / recall / f1 of recommendations against each person's
    truly relevant items (hidden affinity >= ``relevant_affinity``): precision@S = relevant items shown / S
    (a slot left empty by a repeat counts as not relevant), recall@S = relevant items shown / min(S, number relevant in the catalogue), summed over the steps. Affinity is the env's user model's
    (``venv.user_model.affinity``), so a custom model gets its own ground truth. Where items change
    (``config.items_change``), what creators did: published and exits (per creator per episode),
    published_quality and published_appeal (means over what was published), clickbait_share (of what
    was published, appeal > quality + 1), live_quality and homogeneity (mean pairwise cosine of the live
    items) at the episode's end.
    With slates (``slate_size`` S > 1): no_click (share of slates from which nothing was chosen) and
    ctr_slot1 .. ctr_slotS (choices from slot k over items shown in slot k: the click-through rate by position).
    ``ranking_metrics=False`` leaves out ndcg, pick_ndcg, diversity, precision, recall and f1, whose ground truth
    (every person's affinity to every item, each step) costs more than the episodes themselves.
    ``per_episode=True`` returns each metric's value per episode (a list, in seed order) instead of
    ``(mean, std)``: for paired comparisons of policies on the same seeds.
    """
    if isinstance(env_or_vec, str):
        config = recsim_marl.make_config(env_or_vec)
    elif isinstance(env_or_vec, recsim_marl.EnvConfig):
        config = env_or_vec
    else:
        base = env_or_vec.unwrapped if hasattr(env_or_vec, "unwrapped") else env_or_vec
        config, dev = base.config, getattr(base, "device", "cpu")
        device = dev if device is None else device
    device = "cpu" if device is None else device
    for g in GROUPS:
        if g not in policies:
            raise KeyError(f"evaluate needs a policy for group {g!r}; got {sorted(policies)}")
    venv = recsim_marl.VecEnv(config, episodes, device, validate=False)
    obs = venv.reset(seed=seed)
    for p in policies.values():
        if hasattr(p, "bind"):
            p.bind(venv)
    b, u, i, k = episodes, config.num_users, config.num_items, config.num_candidates
    dev = venv.device
    model = venv.user_model
    chunk = max(1, 2**22 // (b * u * config.embed_dim))
    finished = torch.zeros(b, dtype=torch.bool, device=dev)
    acc = {n: torch.zeros(b, device=dev) for n in (
        "clicks", "disappointed", "returns", "gaps", "shown", "engagement", "ndcg", "ndcg_n", "pick", "div", "tp", "rel_total",
        "recs")}
    recommended_any = torch.zeros(b, i, dtype=torch.bool, device=dev)
    slot_shown = torch.zeros(b, config.slate_size, device=dev)  # per slot: items shown, and chosen
    slot_chosen = torch.zeros(b, config.slate_size, device=dev)
    acc["none"] = torch.zeros(b, device=dev)
    exposure = torch.zeros(b, i, device=dev)
    result = {n: torch.zeros(b, device=dev) for n in ("user_return", "provider_profit", "churn", "visits")}
    discount = 1.0 / torch.log2(torch.arange(k, device=dev, dtype=torch.float32) + 2.0)
    creators = config.items_change
    made = {n: torch.zeros(b, device=dev) for n in (
        "published", "exits", "published_quality", "published_appeal", "clickbait", "live_quality", "homogeneity")}
    for _ in range(config.max_cycles):
        s = venv.current
        content = venv.catalogue.content  # [B, I, D]: each world's live items (creators may publish)
        live = (~finished).to(torch.float32)
        alive = s.present & ~finished[:, None]  # the people shown a recommendation now (not away, not gone)
        alive_f = alive.to(torch.float32)
        if ranking_metrics:  # ground truth from the hidden state through the env's user model, for metrics only
            cand_e = take(content, s.candidates)  # [B, U, K, D]
            tr = Traits.of(s.traits).per_candidate()  # each person's own traits, broadcast over candidates
            true_aff = model.affinity(config, tr, s.interest.unsqueeze(2), s.boredom.unsqueeze(2), cand_e)
            ideal = torch.sort(true_aff, dim=-1, descending=True).values
            # NDCG of the retrieved order against the true order, gains shifted to be >= 0
            lo = true_aff.amin(-1, keepdim=True)
            dcg = ((true_aff - lo) * discount).sum(-1)
            idcg = ((ideal - lo) * discount).sum(-1).clamp_min(1e-9)
            acc["ndcg"] += ((dcg / idcg) * alive_f).sum(-1)
            acc["ndcg_n"] += alive_f.sum(-1)
            sim = torch.einsum("bukd,buld->bukl", cand_e, cand_e)
            div = 1.0 - (sim.sum((-1, -2)) - k) / (k * (k - 1))
            acc["div"] += (div * alive_f).sum(-1)
            relevant = torch.cat([  # [B, U, I], items in chunks so that [B, U, chunk, D] stays small
                model.affinity(config, tr, s.interest.unsqueeze(2), s.boredom.unsqueeze(2),
                               content[:, None, j:j + chunk])
                >= relevant_affinity
                for j in range(0, i, chunk)], dim=-1)

        actions = {}
        for g in GROUPS:
            actions[g] = checked_act(policies[g], g, obs[g], obs["action_mask"][g], venv.num_actions[g], venv.slate_size(g))
        obs, rew, term, trunc, info = venv.step(actions)
        # what each person was shown: [B, U, S] (one item: S = 1); an empty slate slot shows nothing
        shown_items = info["slate"] if "slate" in info else info["recommended"].unsqueeze(-1)
        on = shown_items >= 0
        shown_items = shown_items.clamp_min(0)
        if ranking_metrics:  # of the list shown: NDCG@S, precision@S, recall@S
            slots = actions["users"].to(dev).view(b, u, -1)
            n_slots = slots.shape[-1]
            picked = torch.gather(true_aff, 2, slots) - lo  # gains in the order shown
            dcg = (picked * discount[:n_slots] * on).sum(-1)
            idcg = ((ideal[..., :n_slots] - lo) * discount[:n_slots]).sum(-1)
            acc["pick"] += (torch.where(idcg > 1e-9, dcg / idcg.clamp_min(1e-9), 1.0) * alive_f).sum(-1)
            hit = (torch.gather(relevant, 2, shown_items) & on).to(torch.float32).sum(-1)
            acc["tp"] += (hit * alive_f).sum(-1)
            acc["recs"] += alive_f.sum(-1) * n_slots
            acc["rel_total"] += (relevant.sum(-1).clamp_max(n_slots).to(torch.float32) * alive_f).sum(-1)
        acc["clicks"] += info["metrics"]["clicks"] * live
        acc["disappointed"] += info["metrics"]["clicks"] * info["metrics"]["disappointment"] * live
        acc["returns"] += info["metrics"]["returns"] * live
        acc["gaps"] += info["metrics"]["return_gaps"] * live
        acc["shown"] += alive_f.sum(-1)
        acc["engagement"] += info["metrics"]["engagement"] * alive_f.sum(-1) / u  # per person
        if "chosen" in info:  # slates: what was chosen from which slot, and slates that found nothing
            here = on & alive.unsqueeze(-1) & ~finished[:, None, None]
            slot_shown += here.sum(1).to(torch.float32)
            slot_chosen += ((info["chosen"].unsqueeze(-1) == torch.arange(on.shape[-1], device=dev)) & here).sum(1)
            acc["none"] += ((info["chosen"] < 0) & here[..., 0]).sum(-1)
        seen = (on & alive.unsqueeze(-1)).flatten(1)
        recommended_any |= torch.zeros_like(recommended_any).scatter_(1, shown_items.flatten(1), seen) & ~finished[:, None]
        exposure += torch.zeros_like(exposure).scatter_add_(1, shown_items.flatten(1), seen.to(torch.float32))
        newly = info["done"] & ~finished
        ep = info["episode"]
        result["user_return"] = torch.where(newly, ep["user_return"], result["user_return"])
        result["provider_profit"] = torch.where(newly, ep["item_return"], result["provider_profit"])
        left = 1.0 - info["final_observation"]["state"][:, venv.layouts["state"]["present"]].mean(-1)
        result["churn"] = torch.where(newly, left, result["churn"])
        result["visits"] = torch.where(newly, ep["visits"], result["visits"])
        if creators:
            m = info["metrics"]
            for n in ("published", "exits", "published_quality", "published_appeal", "clickbait"):
                made[n] += m[n] * live
            for n in ("live_quality", "homogeneity"):  # as the episode ends
                made[n] = torch.where(newly, m[n], made[n])
        finished |= info["done"]
    precision = acc["tp"] / acc["recs"].clamp_min(1)
    recall = acc["tp"] / acc["rel_total"].clamp_min(1)
    episodes_of = {
        **result,
        "ctr": acc["clicks"] / acc["shown"].clamp_min(1),
        "disappointment": acc["disappointed"] / acc["clicks"].clamp_min(1),
        "return_time": acc["gaps"] / acc["returns"].clamp_min(1),
        "engagement": acc["engagement"],
        "coverage": recommended_any.to(torch.float32).mean(-1),
        "exposure_gini": _gini(exposure),
    }
    if config.slate_size > 1:
        episodes_of["no_click"] = acc["none"] / slot_shown[:, 0].clamp_min(1)
        for k in range(config.slate_size):
            episodes_of[f"ctr_slot{k + 1}"] = slot_chosen[:, k] / slot_shown[:, k].clamp_min(1)
    if creators:
        episodes_of.update({
            "published": made["published"] / i,  # per creator
            "exits": made["exits"] / i,
            "published_quality": made["published_quality"] / made["published"].clamp_min(1),
            "published_appeal": made["published_appeal"] / made["published"].clamp_min(1),
            "clickbait_share": made["clickbait"] / made["published"].clamp_min(1),
            "live_quality": made["live_quality"],
            "homogeneity": made["homogeneity"],
        })
    if ranking_metrics:
        episodes_of.update({
            "ndcg": acc["ndcg"] / acc["ndcg_n"].clamp_min(1),
            "pick_ndcg": acc["pick"] / acc["ndcg_n"].clamp_min(1),
            "diversity": acc["div"] / acc["ndcg_n"].clamp_min(1),
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall).clamp_min(1e-9),
        })
    if per_episode:
        return {n: v.tolist() for n, v in episodes_of.items()}
    return {n: (float(v.mean()), float(v.std(unbiased=False))) for n, v in episodes_of.items()}


