"""Parameters in the rows: each counted once, at its first use (tied weights once, with a
note), and the parameters of modules the forward never called given to their nearest
called ancestor, so that the rows' params add up to the model's unique parameter count."""

from __future__ import annotations

import torch
from torch import nn

from ..core.records import Row, note
from .inputs import uninitialized


def add_param(row: Row, p: torch.Tensor) -> int:
    """Count ``p`` in ``row`` (params, trainable, bytes); returns its element count."""
    n = p.numel()
    row.params += n
    if p.requires_grad:
        row.trainable_params += n
    row.param_bytes += n * p.element_size()
    return n


class ParamCounter:
    def __init__(self) -> None:
        self.seen: dict[int, str] = {}  # id(param) -> qualified name where first counted

    def count(self, module: nn.Module, row: Row) -> None:
        """The first call of ``module``: its own parameters go to ``row``."""
        for pname, p in module._parameters.items():
            if p is None or uninitialized(p):
                continue
            qual = f"{row.name}.{pname}" if row.name else pname
            owner = self.seen.get(id(p))
            if owner is not None:
                row.notes.append(note("tied_params", param=qual, owner=owner, count=p.numel()))
                continue
            self.seen[id(p)] = qual
            add_param(row, p)

    def attribute_unused(self, named: list[tuple[str, nn.Module]], first_row: dict[int, Row]) -> None:
        """Parameters of modules the forward never called (MultiheadAttention's out_proj is
        used through its weight; an unused head) go to the nearest called ancestor.
        ``named``: the model's ``named_modules()``, as the recorder walked them."""
        modules = dict(named)
        for name, m in modules.items():
            if id(m) in first_row:
                continue
            unseen = [p for p in m._parameters.values()
                      if p is not None and not uninitialized(p) and id(p) not in self.seen]
            if not unseen:
                continue
            anc = name
            row = None
            while anc:
                anc = anc.rpartition(".")[0]
                owner = modules.get(anc)
                if owner is not None and id(owner) in first_row:
                    row = first_row[id(owner)]
                    break
            if row is None:
                continue  # the forward failed before reaching any ancestor
            count = 0
            for p in unseen:
                self.seen[id(p)] = name
                count += add_param(row, p)
            row.notes.append(note("unused_params", module=name, count=count))
