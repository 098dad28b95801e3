"""Independent Q-learning for the user agents while every provider promotes at random.

    python examples/learned_users_scripted_items.py
"""

from agents.iql import Args, train

result = train(Args(scenario="default", learn="users", items_policy="random", total_steps=20_000,
                    log_dir="runs/iql_users_vs_random_items"))
print("IQL users against randomly promoting items:", result["eval"]["user_return"])
