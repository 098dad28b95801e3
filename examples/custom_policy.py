"""Write your own recommender policy and drive the PettingZoo env with it.

    python examples/custom_policy.py
"""

import recsim_marl
from agents.baselines import FixedLevelPolicy, GreedyPolicy
from agents.evaluation import evaluate
from agents.policy import DictPolicy


class NoveltySeeker:
    """Recommend what is relevant but not what the person just consumed (plans a little for boredom)."""

    def __init__(self, config, novelty: float = 1.0):
        self.lay = recsim_marl.observation_layout(config)["users"]
        self.novelty = novelty

    def act(self, obs, mask):  # obs [B, N, O], mask [B, N, K] -> actions [B, N]
        relevance = self.lay.read(obs, "candidate_relevance")
        familiarity = self.lay.read(obs, "candidate_familiarity")
        return (relevance - self.novelty * familiarity).masked_fill(~mask, -1e9).argmax(-1)


env = recsim_marl.parallel_env(scenario="boredom", render_mode="ansi")
config = env.config
policy = DictPolicy(env, {"users": NoveltySeeker(config), "items": FixedLevelPolicy(0)})
obs, infos = env.reset(seed=0)
while env.agents:
    obs, rewards, terminations, truncations, infos = env.step(policy(obs, infos))
print(env.render())

for name, users in (("novelty seeker", NoveltySeeker(config)), ("greedy", GreedyPolicy(config))):
    mean, std = evaluate(config, {"users": users, "items": FixedLevelPolicy(0)}, episodes=5, seed=0)["user_return"]
    print(f"{name:>15}: mean user return {mean:.2f} ± {std:.2f}")
