"""Train MAPPO user agents on the boredom scenario in ten lines (about 3 minutes on 2 CPU cores).

    python examples/train_mappo.py
"""

from agents.mappo import Args, train

result = train(Args(scenario="boredom", total_steps=40_000, log_dir="runs/mappo_boredom"))
mean, std = result["eval"]["user_return"]
print(f"MAPPO users: mean user return {mean:.2f} ± {std:.2f} (greedy-by-relevance gets about 8.0, random 6.1)")
print(f"learning curve: {result['plot']}; TensorBoard: tensorboard --logdir {result['log_dir']}")
