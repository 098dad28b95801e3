"""Doors to other frameworks over the batched core. Each module imports its framework lazily and
says what to install when it is missing:

- :mod:`recsim_marl.integrations.torchrl`: ``RecSimEnv``, a TorchRL ``EnvBase`` (``pip install torchrl``).
- :mod:`recsim_marl.integrations.benchmarl`: ``RecSimTask``, every scenario as a BenchMARL task.
- :mod:`recsim_marl.integrations.rllib`: ``RecSimMultiAgentEnv``, an RLlib ``MultiAgentEnv``
  (``pip install 'recsim-marl[rllib]'``).
"""
