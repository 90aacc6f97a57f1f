"""The tracer's edges (which row produced each tensor a row consumes) against torch.fx's
graph, on every model of the zoo that fx can trace: with the op nodes contracted, each
module call's producers must be the same modules (or inputs) in both graphs."""

from __future__ import annotations

import torch
import torch.fx
import pytest
from torch import nn

import shapetrace
from shapetrace import render
from shapetrace.core.records import Report
from shapetrace.models import seed_verbatim as sv
from shapetrace.models.seed import CNNWithResidual

from ..render.svg_geometry import parse, problems
from .zoo import ZOO, make


def _metadata(node: torch.fx.Node) -> bool:
    """``x.shape``, ``x.size()``, ``x.dim()``: reading a size is not data flow."""
    if node.op == "call_method":
        return node.target in ("size", "dim", "numel")
    if node.op == "call_function":
        import operator

        return node.target is getattr and node.args[1:2] in (("shape",), ("ndim",), ("dtype",), ("device",)) \
            or node.target in (len,)
    return False


def _fx_producers(model: nn.Module, concrete: dict | None = None,
                  tensor_args: set[str] | None = None) -> dict[str, set[str]]:
    """module target -> the module targets (or "input:K") feeding it, ops contracted."""
    gm = torch.fx.symbolic_trace(model, concrete_args=concrete)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder" and (tensor_args is None or n.target in tensor_args)]
    index = {n: k for k, n in enumerate(placeholders)}
    memo: dict[torch.fx.Node, frozenset[str]] = {}

    def sources(node: torch.fx.Node) -> frozenset[str]:
        if node in memo:
            return memo[node]
        if node.op == "placeholder":  # a non-tensor argument (a float scale) is no input
            out = frozenset({f"input:{index[node]}"}) if node in index else frozenset()
        elif node.op == "call_module":
            out = frozenset({node.target})
        elif node.op == "get_attr" or _metadata(node):
            out = frozenset()  # parameters, and sizes read off a tensor: no data flows
        else:
            out = frozenset().union(*(sources(a) for a in node.all_input_nodes)) if node.all_input_nodes \
                else frozenset()
        memo[node] = out
        return out

    got: dict[str, set[str]] = {}
    for n in gm.graph.nodes:
        if n.op == "call_module":
            got.setdefault(n.target, set()).update(*(sources(a) for a in n.all_input_nodes))
        if n.op == "output":
            got.setdefault("output", set()).update(*(sources(a) for a in n.all_input_nodes))
    return got


def _our_producers(r: Report, modules: set[str]) -> dict[str, set[str]]:
    """The same from Report.edges: op rows contracted, leaf module rows kept."""
    preds: dict[int | str, set[int | str]] = {}
    for e in r.edges:
        preds.setdefault(e.dst, set()).add(e.src)

    def unit(row) -> str | None:
        """The fx leaf module a row belongs to: fx keeps torch.nn modules whole (a
        TransformerEncoder is one node), so the rows inside one count as it."""
        parts = row.name.split(".")
        for k in range(1, len(parts) + 1):
            prefix = ".".join(parts[:k])
            if prefix in modules and not (row.is_op and k == len(parts)):
                return prefix
        return None

    memo: dict[int | str, frozenset[str]] = {}

    def sources(end: int | str) -> frozenset[str]:
        if end in memo:
            return memo[end]
        if isinstance(end, str):
            out = frozenset({end})
        elif unit(r.rows[end]) is not None:
            out = frozenset({unit(r.rows[end])})
        else:
            memo[end] = frozenset()  # guard
            out = frozenset().union(*(sources(p) for p in preds.get(end, ())))
        memo[end] = out
        return out

    got: dict[str, set[str]] = {}
    for i, row in enumerate(r.rows):
        u = unit(row)
        if row.leaf and u is not None:
            # the edges entering the unit from outside it
            got.setdefault(u, set()).update(*(s for p in preds.get(i, ()) for s in [sources(p)]
                                              if u not in s))
    outs = [e for e in r.edges if isinstance(e.dst, str)]
    got["output"] = set().union(*(sources(e.src) for e in outs)) if outs else set()
    return got


def _compare(model: nn.Module, r: Report, concrete: dict | None = None, real: tuple | None = None) -> None:
    tensor_args = None
    if real is not None:  # which of forward's parameters the real call passes tensors to
        import inspect

        params = list(inspect.signature(model.forward).parameters)
        args, kwargs = real
        tensor_args = {params[i] for i, a in enumerate(args) if isinstance(a, torch.Tensor)}
        tensor_args |= {k for k, v in kwargs.items() if isinstance(v, torch.Tensor)}
    fx = _fx_producers(model, concrete, tensor_args)
    ours = _our_producers(r, set(fx) - {"output"})
    assert ours == fx


TRACEABLE = []
for _name in ZOO:
    _model, _kw, _ = make(_name)
    try:
        torch.fx.symbolic_trace(_model)
    except Exception:  # noqa: BLE001 - control flow on values, dict inputs...: fx cannot trace it
        continue
    TRACEABLE.append(_name)


def test_fx_can_trace_enough_of_the_zoo() -> None:
    # the comparison below must cover residual adds, concats (DenseNet, U-Net) and a transformer
    assert {"residual", "densenet", "unet", "depthwise", "functional"} <= set(TRACEABLE), TRACEABLE


@pytest.mark.parametrize("name", TRACEABLE)
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_edges_match_torch_fx(name: str, device: str) -> None:
    model, kw, real = make(name)
    r = shapetrace.summary(model, device=device, **kw)
    assert r.ok
    _compare(model, r, real=real)


def test_seed_edges_match_fx_and_draw() -> None:
    model = CNNWithResidual()
    r = shapetrace.summary(model, (1, 1, 28, 28), device="cpu")
    _compare(model, r)
    names = {(r.rows[e.src].name if isinstance(e.src, int) else e.src,
              r.rows[e.dst].name if isinstance(e.dst, int) else e.dst) for e in r.edges}
    # the residual add: two incoming edges, body and shortcut
    assert ("resblock1.conv2", "resblock1.add") in names and ("resblock1.shortcut", "resblock1.add") in names
    leaves = {i for i, row in enumerate(r.rows) if row.leaf}
    for e in r.edges:
        assert all(end in leaves or isinstance(end, str) for end in (e.src, e.dst))
    pic = parse(render.svg(r))
    assert not problems(pic)
    assert {k for k in pic.nodes if k.isdigit()} == {str(i) for i in leaves}


def test_passthrough_ops_keep_the_path() -> None:
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.drop = nn.Dropout(0.5)
            self.id = nn.Identity()
            self.b = nn.Linear(4, 2)

        def forward(self, x):
            return self.b(self.id(self.drop(self.a(x).contiguous().float())))

    model = Net().eval()
    r = shapetrace.summary(model, (3, 4), device="cpu")
    _compare(model, r)
    name = {i: row.name for i, row in enumerate(r.rows)}
    chain = [(name.get(e.src, e.src), name.get(e.dst, e.dst)) for e in r.edges]
    assert chain == [("input:0", "a"), ("a", "drop"), ("drop", "id"), ("id", "b"), ("b", "output:0")]


def test_failing_model_marks_the_failure_and_what_never_ran() -> None:
    r = shapetrace.summary(sv.CNNWithResidual(), (1, 1, 28, 28), device="cpu")
    assert not r.ok
    last = len(r.rows) - 1
    assert r.rows[last].name == r.error.row
    assert any(e.dst == last for e in r.edges)  # the failing view consumed the pool's output
    assert {u.name for u in r.not_reached} == {"fc1", "fc2"}
    text = render.svg(r)
    pic = parse(text)
    assert "failed" in pic.classes[str(last)] and not problems(pic)
    assert sum("unreached" in c for c in pic.classes.values()) == 2


def test_edges_fold_with_the_table() -> None:
    model, kw, _ = make("densenet")
    r = shapetrace.summary(model, device="cpu", **kw)
    from shapetrace.trace.fold import fold

    f = fold(r, 1)
    for e in f.edges:
        for end in (e.src, e.dst):
            assert isinstance(end, str) or f.rows[end].leaf
    assert not problems(parse(render.svg(r, depth=1)))
