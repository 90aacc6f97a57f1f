"""What kind of row a ``Row.kind`` is: its ``Category`` and its short label.

A row's kind is a torch.nn class name (a module row), a torch function name as the
tracer names op rows (``trace/ops.op_kind``: "relu", "add", "conv2d") or a spec block
(``core.spec_tree.BLOCK_TYPES``: their categories are derived from that table here). A
registered layer rule answers for its class and for its ``functional`` names
(core/layers/base.py: the rule carries its category and label). The table below is only
for the kinds no rule covers: torch functions with no layer (add, view, matmul ...),
functions shared by several rules (``pad``) and torch.nn classes the core does not model
(LSTM, MultiheadAttention, ModuleList ...). A test checks that no kind is in both places.
Kinds in neither get no category (``None``): no description rather than a guess.
"""

from __future__ import annotations

import functools

from .layers import REGISTRY, LayerDef
from .records import Category
from .spec_tree import BLOCK_TYPES


def _dims(*names: str) -> tuple[str, ...]:
    return tuple(f"{n}{d}d" for n in names for d in (1, 2, 3))


_OTHER: dict[Category, tuple[str, ...]] = {
    Category.CONV: _dims("LazyConv"),
    Category.CONV_T: _dims("LazyConvTranspose"),
    Category.POOL: _dims("FractionalMaxPool"),
    Category.NORM: _dims("LazyBatchNorm", "LazyInstanceNorm") + ("SyncBatchNorm", "normalize"),
    Category.RESHAPE: ("view", "reshape", "permute", "transpose", "unsqueeze", "squeeze", "unflatten", "view_as",
                       "movedim", "contiguous", "expand", "repeat", "getitem", "split", "chunk", "unbind",
                       "narrow", "select", "t", "swapaxes"),
    Category.LINEAR: ("LazyLinear", "addmm", "NonDynamicallyQuantizableLinear"),
    Category.ADD: ("add", "add_", "sub", "sub_"),
    Category.ARITH: ("mul", "mul_", "div", "div_", "rsub", "rdiv", "neg", "pow", "exp", "log", "sqrt", "rsqrt",
                     "abs", "clamp", "clamp_", "where", "masked_fill", "masked_fill_", "maximum", "minimum"),
    Category.REDUCE: ("mean", "sum", "amax", "amin", "max", "min", "std", "var", "logsumexp", "norm", "prod"),
    Category.CONCAT: ("cat", "concat", "concatenate", "stack", "hstack", "vstack"),
    Category.EMBED: ("EmbeddingBag",),
    Category.RNN: ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"),
    Category.ATTN: ("MultiheadAttention", "scaled_dot_product_attention", "multi_head_attention_forward",
                    "TransformerEncoderLayer", "TransformerDecoderLayer"),
    Category.MATMUL: ("matmul", "mm", "bmm", "einsum", "baddbmm", "mv", "dot"),
    Category.PAD: ("pad",),
    Category.BLOCK: ("ModuleList", "ModuleDict", "TransformerEncoder", "TransformerDecoder", "Transformer"),
}

# The spec's blocks, by what their own op row does: Residual adds, Concat concatenates; a
# block without one (Sequential, which also names torch.nn.Sequential's rows) groups layers.
_BLOCK_BY_OP: dict[str | None, Category] = {"add": Category.RESIDUAL, "cat": Category.CONCAT}
BLOCK_CATEGORY: dict[str, Category] = {b.type: _BLOCK_BY_OP.get(b.op, Category.BLOCK)
                                       for b in BLOCK_TYPES.values()}

OTHER_CATEGORY: dict[str, Category] = {**{k: cat for cat, kinds in _OTHER.items() for k in kinds},
                                       **BLOCK_CATEGORY}

# Short labels of kinds without a rule (the rest are labelled by their own name).
OTHER_SHORT: dict[str, str] = {
    "cat": "Concat", "stack": "Stack", "add": "Add", "add_": "Add", "view": "View", "reshape": "Reshape",
    "pad": "Pad", "matmul": "MatMul", **{k: "FractionalMaxPool" for k in _dims("FractionalMaxPool")},
}

ADD_KINDS: frozenset[str] = frozenset(_OTHER[Category.ADD])


@functools.lru_cache(maxsize=None)
def _by_functional() -> dict[str, LayerDef]:
    """Op-row kind -> the rule doing the same computation (the first of several that share
    one, e.g. batch_norm for BatchNorm1d/2d/3d; a test checks they agree)."""
    out: dict[str, LayerDef] = {}
    for defn in REGISTRY.values():
        for f in defn.functional:
            out.setdefault(f, defn)
    return out


def rule_of(kind: str) -> LayerDef | None:
    """The layer rule for a row kind: its class, or a torch function of the same computation."""
    return REGISTRY.get(kind) or _by_functional().get(kind)


def category(kind: str) -> Category | None:
    defn = rule_of(kind)
    if defn is not None:
        return defn.category
    return OTHER_CATEGORY.get(kind)


def short(kind: str) -> str:
    """The label a person uses: "MaxPool" for MaxPool2d and max_pool2d, "Add" for add."""
    defn = rule_of(kind)
    if defn is not None:
        return defn.label
    return OTHER_SHORT.get(kind, kind)
