"""DDP under torchrun: read the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; https://pytorch.org/docs/stable/elastic/run.html),
start the process group (gloo on CPU, nccl on GPU) and reduce metrics across ranks.

Without torchrun (WORLD_SIZE unset or 1) everything here is a no-op: world size 1, rank 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> Dist:
    def env_int(name: str, default: int) -> int:
        try:
            return int(os.environ.get(name, default))
        except ValueError:
            return default

    world = env_int("WORLD_SIZE", 1)
    if world <= 1:
        return Dist()
    return Dist(rank=env_int("RANK", 0), world_size=world, local_rank=env_int("LOCAL_RANK", 0),
                local_world_size=env_int("LOCAL_WORLD_SIZE", world))


def init(dist_info: Dist, device: torch.device) -> Dist:
    """Start the process group for ``device``'s backend (no-op for one process)."""
    if not dist_info.enabled:
        return dist_info
    import torch.distributed as dist

    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        if device.type == "cuda":
            dist.init_process_group(backend, device_id=device)
        else:
            dist.init_process_group(backend)
    return Dist(dist_info.rank, dist_info.world_size, dist_info.local_rank, dist_info.local_world_size, backend)


def all_reduce_sum(t: torch.Tensor, dist_info: Dist) -> torch.Tensor:
    """Sum ``t`` over all ranks (in place; returns it)."""
    if dist_info.enabled:
        import torch.distributed as dist

        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def shutdown(dist_info: Dist) -> None:
    if dist_info.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
