"""Training on several processes or machines with ``torch.distributed`` (launched by ``torchrun``).

Each rank simulates its own worlds (its own env seeds and sample stream), computes gradients on its
own data, and the gradients are averaged over the ranks before every optimiser step, so every rank
holds the same networks (data-parallel training, what DDP does). Rank 0 writes the logs, the
checkpoint (with every rank's simulator and generator state, so a resume continues each rank
exactly) and runs the final evaluation. Without ``torchrun`` (no ``WORLD_SIZE``), nothing here does
anything: one process, as before.

    torchrun --nproc_per_node 2 -m agents.mappo --scenario boredom --total-steps 60000
    torchrun --nnodes 2 --node_rank R --nproc_per_node 4 --rdzv_endpoint HOST:29500 -m agents.mappo ...

gloo on CPU, NCCL on CUDA (each rank on ``cuda:LOCAL_RANK``).
"""

from __future__ import annotations

import hashlib
import os

import torch


class Ranks:
    """This process's place among the ranks (rank 0 of 1 when not launched by torchrun)."""

    def __init__(self, device: torch.device):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank, self.local_rank = 0, 0
        self.device = device
        if self.world > 1:
            import torch.distributed as dist

            self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            if device.type == "cuda":
                self.device = torch.device("cuda", self.local_rank)
                torch.cuda.set_device(self.device)
            if not dist.is_initialized():
                dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            self.rank = dist.get_rank()

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def average_(self, tensors) -> None:
        """Average ``tensors`` over the ranks, in place (gradients, running statistics)."""
        if not self.active:
            return
        import torch.distributed as dist

        tensors = [t for t in tensors if t is not None]
        if not tensors:
            return
        flat = torch.cat([t.reshape(-1).to(torch.float32) for t in tensors])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for t in tensors:
            n = t.numel()
            t.copy_(flat[offset:offset + n].view_as(t).to(t.dtype))
            offset += n

    def broadcast_(self, module: torch.nn.Module) -> None:
        """Rank 0's parameters and buffers to every rank."""
        if not self.active:
            return
        import torch.distributed as dist

        for t in module.state_dict().values():
            if isinstance(t, torch.Tensor):
                dist.broadcast(t, 0)

    def barrier(self) -> None:
        """Wait for every rank (e.g. until rank 0 has written the checkpoint the others may read next)."""
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def gather(self, obj):
        """Every rank's ``obj`` (a list, in rank order); ``[obj]`` with one rank."""
        if not self.active:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out


def digest(module: torch.nn.Module) -> str:
    """A short sha256 of a module's parameters (equal digests: equal networks)."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
