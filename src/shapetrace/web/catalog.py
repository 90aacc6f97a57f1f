"""What the page needs to know about layers, read off the core (never copied).

``layer_catalog`` lists every layer of ``core.layers.REGISTRY`` with its constructor
arguments, so the page's "add layer" menu and argument fields grow with the registry.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from ..core.layers import REGISTRY
from ..core.layers.base import REQUIRED

# The page's layer menu groups families in this order; families not listed follow, by name.
_FAMILY_ORDER = ("conv", "pool", "linear", "activation", "norm", "dropout", "shape", "padding",
                 "upsample", "embedding")


def _json_default(v: Any) -> tuple[Any, str]:
    """A default as JSON data, plus how the page shows it (torch's spelling)."""
    if v is None:
        return None, "None"
    if isinstance(v, bool):
        return v, "True" if v else "False"
    if isinstance(v, int):
        return v, str(v)
    if isinstance(v, float):
        if math.isfinite(v):
            return v, repr(v)
        return None, repr(v)  # inf/nan are not JSON: shown, not sent
    if isinstance(v, str):
        return v, repr(v)
    if isinstance(v, (tuple, list)) and all(isinstance(x, (int, float, str, bool)) or x is None
                                            for x in v):
        return [(_json_default(x)[0]) for x in v], "(" + ", ".join(_json_default(x)[1] for x in v) + (
            ",)" if len(v) == 1 else ")")
    return None, repr(v)


@functools.lru_cache(maxsize=1)
def layer_catalog() -> list[dict[str, Any]]:
    """One entry per registered torch.nn layer: name, family, number of inputs and arguments.
    Built once: the registry is complete at import (only serialised, never changed after)."""
    out = []
    for name in sorted(REGISTRY):
        d = REGISTRY[name]
        args = []
        for arg, default in d.signature:
            required = default is REQUIRED
            value, text = (None, "") if required else _json_default(default)
            args.append({"name": arg, "required": required, "inferred": arg in d.inferred,
                         "default": value, "default_text": text})
        out.append({"name": name, "family": d.family or "other", "inputs": d.n_inputs,
                    "integer_input": d.integer_input, "args": args})
    order = {f: i for i, f in enumerate(_FAMILY_ORDER)}
    out.sort(key=lambda e: (order.get(e["family"], len(order)), e["family"], e["name"]))
    return out
