"""The accepted input sizes of an nn.Module: its graph through the core's symbolic engine.

``torch.fx.symbolic_trace`` gives the model's calls with their data flow (which output
feeds which call) without running it; each call goes to the core's rule for the layer
(``adapters.core_call``/``functional_call``, the tracer's own mapping) or to the
engine's op (add, cat, view, flatten, matmul ...). A call that neither models, or a
model fx cannot trace (data-dependent control flow), falls back to probing: the real
tracer runs at sampled sizes and the answer says ``exact: false``, which op was not
modelled and which sizes were probed. Models are analysed in eval mode; every module's
training flag is put back afterwards.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ShapeError
from ..core.symbolic import (DEFAULT_MAX, AcceptedSizes, axis_names, check_request, from_flow, never, probe,
                             rows_of)
from ..core.symbolic.constraints import Constraint, Kind
from ..core.symbolic.expr import Dim
from ..core.symbolic.flow import SymFlow, wrap_dim
from ..core.symbolic.layers import Unmodelled
from . import meta_shapes, ops
from .adapters import core_call, functional_call, layer_rule
from .call_args import arg

MODEL_PROBES = 400  # real traces when an op is not modelled (~10 ms each)

_BINARY = {operator.add, operator.iadd, operator.sub, operator.isub, operator.mul, operator.imul,
           operator.truediv, operator.itruediv, torch.add, torch.sub, torch.mul, torch.div}
_BINARY_METHODS = {"add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_", "__add__", "__mul__"}
_KEEP_METHODS = {"contiguous", "relu", "relu_", "sigmoid", "tanh", "float", "to", "clone", "detach",
                 "softmax", "log_softmax", "exp", "sqrt", "abs", "neg", "clamp", "type_as", "masked_fill"}
_SOFTMAX = {F.softmax, F.log_softmax, torch.softmax}
_KEEP_FUNCS = {F.dropout, F.gelu, F.silu, torch.sigmoid, torch.tanh} | _SOFTMAX


class _Graph:
    def __init__(self, gm: torch.fx.GraphModule, flow: SymFlow):
        self.gm = gm
        self.flow = flow
        self.env: dict[Any, Any] = {}
        self.index_bound: dict[Any, Dim] = {}  # arange(n) outputs: values < n
        self.names: dict[Any, str] = {}  # node -> row name

    def val(self, a: Any) -> Any:
        if isinstance(a, torch.fx.Node):
            return self.env[a]
        if isinstance(a, (list, tuple)):
            return type(a)(self.val(x) for x in a)
        return a

    def concrete(self, a: Any) -> Any:
        """Arguments for adapters.functional_call: parameters as tensors, others as None."""
        if isinstance(a, torch.fx.Node):
            if a.op == "get_attr":
                return _attr(self.gm, a.target)
            v = self.env.get(a)
            return v.value if isinstance(v, Dim) and v.is_const else None
        if isinstance(a, (list, tuple)):
            return type(a)(self.concrete(x) for x in a)
        return a

    def run(self) -> None:
        # a module (or op) called more than once gets the call's number in its row name, so
        # that "pool (3rd call): ⌊H/8⌋ >= 1" says which of the seed's three pools it is
        calls = [n for n in self.gm.graph.nodes if n.op.startswith("call_")]
        names = [self._name(n) for n in calls]
        total = Counter(names)
        seen: Counter = Counter()
        for n, name in zip(calls, names):
            seen[name] += 1
            self.names[n] = f"{name} ({_ordinal(seen[name])} call)" if total[name] > 1 else name
        first = True
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                self.env[node] = self.flow.input() if first else None
                first = False
            elif node.op == "get_attr":
                t = _attr(self.gm, node.target)
                self.env[node] = _const_shape(t) if isinstance(t, torch.Tensor) else t
            elif node.op == "output":
                return
            else:
                self.env[node] = self.call(node)

    def row(self, node) -> str:
        return self.names[node]

    @staticmethod
    def _name(node) -> str:
        if node.op == "call_module":
            return str(node.target)
        stack = list(node.meta.get("nn_module_stack", {}).keys())
        owner = stack[-1].split("@")[0] if stack else ""
        op = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", node.name)
        op = op.strip("_")
        return f"{owner}.{op}" if owner else op

    def call(self, node) -> Any:
        row = self.row(node)
        args = [self.val(a) for a in node.args]
        kwargs = {k: self.val(v) for k, v in node.kwargs.items()}
        f = self.flow
        if node.op == "call_module":
            mod = self.gm.get_submodule(node.target)
            try:
                rule = layer_rule(mod)
            except ShapeError as e:  # tensors torch refuses at every size
                raise ShapeError(f"{row}: {e}") from None
            if rule is None:
                why = "no rule in the core" if core_call(mod) is None else "its weights fit no arguments"
                raise Unmodelled(row, f"{type(mod).__name__} ({why})")
            name, kw, _ = rule  # a replaced weight: the arguments it belongs to
            x = args[0]
            if name == "Embedding" and node.args[0] in self.index_bound:
                n = self.index_bound[node.args[0]]
                if not n.is_const:
                    f.constraints.append(Constraint(row, Kind.AT_MOST, n, bound=kw["num_embeddings"]))
            return f.layer(row, name, kw, x)
        target = node.target
        if node.op == "call_method":
            return self.method(row, target, args, kwargs)
        # call_function
        if target is getattr:
            if args[1] == "shape":
                return tuple(args[0])
            raise Unmodelled(row, f"getattr {args[1]}")
        if target is operator.getitem:
            obj, idx = args
            if isinstance(obj, tuple) and all(isinstance(d, Dim) for d in obj):
                if isinstance(idx, int):
                    if not -len(obj) <= idx < len(obj):  # x.shape[7] of a 4-D x, at every size
                        raise ShapeError(f"{row}: tuple index out of range (index {idx} of a "
                                         f"{len(obj)}-dimensional shape)")
                    return obj[idx]
                if isinstance(idx, slice):
                    return obj[idx]
            raise Unmodelled(row, "indexing a tensor")
        if target in _BINARY or target in ops.ELEMENTWISE and _two_tensors(args):
            return self.binary(row, target, args)
        if target in ops.ELEMENTWISE or target in _KEEP_FUNCS:
            if target in _SOFTMAX and arg(args, kwargs, 1, "dim") is not None:
                wrap_dim(row, arg(args, kwargs, 1, "dim"), len(args[0]))
            return f.record(row, getattr(target, "__name__", "op"), args[0])
        if target in ops.CONCAT:
            tensors = args[0]
            dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
            return f.cat(row, list(tensors), dim)
        if target is torch.flatten:
            return f.flatten(row, args[0], arg(args, kwargs, 1, "start_dim", 0), arg(args, kwargs, 2, "end_dim", -1))
        if target is torch.reshape:
            return f.view(row, args[0], _sizes(args[1:]), "reshape")
        if target in (torch.matmul, operator.matmul):
            return self.matmul(row, args[0], args[1])
        if target is torch.arange and len(args) == 1 and isinstance(args[0], Dim):
            self.index_bound[node] = args[0]
            return f.record(row, "arange", (args[0],))
        if target is F.interpolate:
            kw = {"size": kwargs.get("size", args[1] if len(args) > 1 else None),
                  "scale_factor": kwargs.get("scale_factor", args[2] if len(args) > 2 else None),
                  "mode": kwargs.get("mode", "nearest"), "align_corners": kwargs.get("align_corners")}
            if isinstance(kw["size"], Dim) or (isinstance(kw["size"], tuple) and
                                               any(isinstance(s, Dim) for s in kw["size"])):
                return self.resize_to(row, args[0], kw["size"])
            return f.layer(row, "Upsample", kw, args[0])
        cargs = tuple(self.concrete(a) for a in node.args)
        ckwargs = {k: self.concrete(v) for k, v in node.kwargs.items()}
        why = meta_shapes.refused(target, cargs, ckwargs) if target in meta_shapes.CONVS else None
        if why is not None:  # weights torch refuses at every size
            raise ShapeError(f"{row}: {why}")
        call = functional_call(target, cargs, ckwargs)
        if call is not None:
            return f.layer(row, call[0], call[1], args[0])
        raise Unmodelled(row, f"{getattr(target, '__name__', target)}")

    def method(self, row, name, args, kwargs):
        f = self.flow
        x = args[0]
        if name == "size":
            d = arg(args, kwargs, 1, "dim")
            return tuple(x) if d is None else x[wrap_dim(row, d, len(x))]
        if name in ("view", "reshape"):
            return f.view(row, x, _sizes(args[1:]), name)
        if name == "flatten":
            return f.flatten(row, x, arg(args, kwargs, 1, "start_dim", 0), arg(args, kwargs, 2, "end_dim", -1))
        if name == "permute":
            order = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
            return f.permute(row, x, kwargs.get("dims", order))
        if name == "transpose":
            i = wrap_dim(row, arg(args, kwargs, 1, "dim0"), len(x))
            j = wrap_dim(row, arg(args, kwargs, 2, "dim1"), len(x))
            order = list(range(len(x)))
            order[i], order[j] = j, i
            return f.permute(row, x, order, "transpose")
        if name == "unsqueeze":
            d = wrap_dim(row, arg(args, kwargs, 1, "dim"), len(x) + 1)
            return f.record(row, name, tuple(x[:d]) + (Dim.const(1),) + tuple(x[d:]))
        if name in ("mean", "sum", "amax") and arg(args, kwargs, 1, "dim") is not None:
            dims = arg(args, kwargs, 1, "dim")
            dims = dims if isinstance(dims, (tuple, list)) else (dims,)
            keep = arg(args, kwargs, 2, "keepdim", False)
            ds = {wrap_dim(row, d, len(x)) for d in dims}
            if len(ds) != len(dims):
                raise ShapeError(f"{row}: a dimension appears more than once in {tuple(dims)}")
            out = tuple(Dim.const(1) if i in ds else d for i, d in enumerate(x) if keep or i not in ds)
            return f.record(row, name, out)
        if name in _BINARY_METHODS:
            return self.binary(row, name, args)
        if name in _KEEP_METHODS:
            if name in ("softmax", "log_softmax"):
                wrap_dim(row, arg(args, kwargs, 1, "dim"), len(x))
            return f.record(row, name, x)
        raise Unmodelled(row, f"Tensor.{name}")

    def binary(self, row, target, args):
        a, b = args[0], args[1]
        sa, sb = _is_shape(a), _is_shape(b)
        if sa and sb:
            return self.flow.add(row, a, b, "add" if target in (operator.add, operator.iadd, torch.add, "add",
                                                               "add_", "__add__") else "mul")
        if sa:
            return self.flow.record(row, "scalar", a)
        if sb:
            return self.flow.record(row, "scalar", b)
        if isinstance(a, Dim) or isinstance(b, Dim):
            raise Unmodelled(row, "arithmetic on a varying size")
        return target(a, b) if callable(target) else None

    def matmul(self, row, a, b):
        f = self.flow
        if len(a) < 2 or len(b) < 2:
            raise Unmodelled(row, "matmul of a vector")
        f.need(row, Kind.EQUAL, a[-1], b[-2])
        lead = f.add(row + ".batch", tuple(a[:-2]), tuple(b[:-2]), "broadcast") if len(a) > 2 or len(b) > 2 else ()
        f.rows.pop() if lead else None
        return f.record(row, "matmul", tuple(lead) + (a[-2], b[-1]))

    def resize_to(self, row, x, size):
        size = size if isinstance(size, tuple) else (size,) * (len(x) - 2)
        return self.flow.record(row, "interpolate", tuple(x[:2]) + tuple(
            s if isinstance(s, Dim) else Dim.const(s) for s in size))


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _attr(gm, target: str):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _const_shape(t: torch.Tensor):
    return tuple(Dim.const(int(s)) for s in t.shape)


def _is_shape(v) -> bool:
    return isinstance(v, tuple) and all(isinstance(d, Dim) for d in v)


def _two_tensors(args) -> bool:
    return len(args) >= 2 and _is_shape(args[0]) and _is_shape(args[1])


def _sizes(rest: Sequence[Any]) -> list:
    if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
        rest = list(rest[0])
    out = []
    for s in rest:
        if isinstance(s, Dim):
            out.append(s.value if s.is_const else s)
        elif isinstance(s, int):
            out.append(s)
        else:
            raise Unmodelled("view", f"a view size {s!r}")
    return out


class _Untraceable(Exception):
    """torch.fx cannot trace the forward (control flow on values); the probe's op text."""


def _flow(input_shape: Sequence[int], dims: Sequence[int] | None, max_size: int) -> SymFlow:
    """The empty flow of a request: the example shape and its varying axes, checked."""
    shape = tuple(int(s) for s in input_shape)
    return SymFlow(shape, check_request(shape, dims, max_size))


def _run(model: nn.Module, flow: SymFlow) -> None:
    """The model's graph through the engine into ``flow``, in eval mode; every module's
    training flag is put back. Raises ``_Untraceable`` when fx cannot trace the forward,
    ``Unmodelled`` at an op the engine cannot model and ``ShapeError`` at a constant
    mismatch, the rows so far left in ``flow``."""
    flags = {m: m.training for m in model.modules()}
    try:
        model.eval()
        try:
            gm = torch.fx.symbolic_trace(model)
        except Exception as e:  # noqa: BLE001 - any failure of fx's is "it cannot trace this"
            raise _Untraceable(f"the forward (torch.fx cannot trace it: {type(e).__name__})") from None
        _Graph(gm, flow).run()
    finally:
        for m, t in flags.items():
            m.training = t


def analyze_model(model: nn.Module, input_shape: Sequence[int], dims: Sequence[int] | None = None,
                  max_size: int = DEFAULT_MAX, dtype: torch.dtype | None = None) -> AcceptedSizes:
    """The accepted sizes of ``model`` for inputs like ``input_shape`` (see core.symbolic)."""
    flow = _flow(input_shape, dims, max_size)
    shape, axes = flow.input_shape, flow.dims
    names = axis_names(shape, axes)
    try:
        _run(model, flow)
    except _Untraceable as e:
        return _probe(model, shape, axes, names, max_size, dtype, str(e), [])
    except Unmodelled as u:
        return _probe(model, shape, axes, names, max_size, dtype, str(u), flow.rows)
    except ShapeError as e:
        return never(flow, names, max_size, str(e))
    except Exception as e:  # noqa: BLE001 - an op the engine misreads: the real tracer answers
        row = flow.rows[-1].name if flow.rows else "the forward"
        return _probe(model, shape, axes, names, max_size, dtype,
                      f"after {row}: the engine failed ({type(e).__name__})", flow.rows)
    return from_flow(flow, names, max_size)


def model_rows(model: nn.Module, input_shape: Sequence[int], dims: Sequence[int] | None = None):
    """The model's rows with symbolic output shapes, up to an op the engine cannot model
    (none when fx cannot trace it); with the axis names and the example's varying sizes."""
    flow = _flow(input_shape, dims, DEFAULT_MAX)
    try:
        _run(model, flow)
    except Exception:  # noqa: BLE001 - the rows so far are what we have
        pass
    return rows_of(flow)


def _probe(model, shape, axes, names, max_size, dtype, op, rows) -> AcceptedSizes:
    from .tracer import summary

    def accepts(pt) -> bool:
        s = list(shape)
        for d, x in zip(axes, pt):
            s[d] = x
        try:
            rep = summary(model, input_size=tuple(s), dtypes=[dtype] if dtype else None, device="cpu")
        except Exception:  # noqa: BLE001 - a failing forward is what we ask about
            return False
        return rep.error is None and not any(w.code == "batch_changed" for w in rep.warnings)

    import shapetrace.core.symbolic as sym

    old = sym.MAX_PROBES
    sym.MAX_PROBES = MODEL_PROBES
    try:
        return probe(shape, axes, names, max_size, accepts, op, rows)
    finally:
        sym.MAX_PROBES = old
