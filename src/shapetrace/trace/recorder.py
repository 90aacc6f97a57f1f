"""Stage 3 of a trace: the recorder. Runs the forward with hooks on every module and a
``TorchFunctionMode`` (``_Watcher``) that sees every torch function the model's own code
calls, and turns each call ``classify`` keeps into a ``Row``: shapes, parameters
(``ParamCounter``), MACs (the core's rule for known layers, ``ops.py`` otherwise), output
bytes, and the receptive field, kept per tensor in ``FlowTensors`` so residual branches
merge right. Each known layer's call is checked with the core's rules before it runs, so
a meta trace rejects what the CPU rejects; a failing call is noted in ``Failures``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ..core import diagnose, receptive
from ..core.diagnose import Context
from ..core.errors import ArgumentError, ShapeError, UnknownLayerError
from ..core.records import (Diagnosis, Edge, LayerResult, ReceptiveField, Report, Row, Unreached, finish_totals,
                            mark_leaves, note)
from .answers import answer, rule_on
from .call_args import call_tensors, new_bytes, shapes
from . import adapters, meta_dtypes, meta_fast, ops
from .classify import Role, classify, recorded
from .failures import (CoreRejected, Failures, MixedDtypes, WrongDtype, error_from, first_line, module_failure,
                       op_failure, replaced_weights_error, wrong_index_dtype)
from .flow import FlowTensors
from .inputs import tensors, uninitialized
from .params import ParamCounter


class Frame:
    """A module call in progress."""

    __slots__ = ("module", "name", "depth", "row", "base", "result", "core_error", "core_name", "core_kwargs",
                 "index", "sources")

    def __init__(self, module: nn.Module, name: str, depth: int, row: Row, base: type | None,
                 index: int = -1, sources: list | None = None):
        self.module, self.name, self.depth, self.row, self.base = module, name, depth, row, base
        self.index = index  # the row's place in Report.rows
        self.sources = sources or []  # (endpoint that made each input tensor, its shape)
        self.result: LayerResult | None = None
        self.core_error: ShapeError | None = None
        self.core_name: str | None = None
        self.core_kwargs: dict[str, Any] | None = None

    @property
    def internal(self) -> bool:
        """A torch.nn layer's call (its own ops are its implementation)."""
        return self.base is not None


def _unrecorded(method: Any) -> Any:
    """Run a hook with torch-function handling off. Its own tensor calls (``shape``,
    ``numel`` ...) are not the model's, and each one through the watcher costs about 1.5 µs:
    some 2,000 per ResNet-50 trace."""
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch._C.DisableTorchFunction():
            return method(*args, **kwargs)
    return wrapper


def _call(func: Any, args: tuple, kwargs: dict) -> Any:
    return func(*args, **kwargs)


class _Watcher(TorchFunctionMode):
    """Sees every torch function call while the forward runs."""

    def __init__(self, recorder: "Recorder"):
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        rec = self.recorder
        if rec.busy:
            return func(*args, **kwargs)
        if not recorded(func):
            return rec.call(func, args, kwargs)
        frame = rec.stack[-1] if rec.stack else None
        try:
            out = meta_fast.meta_fast(func, args, kwargs) if (rec.fast and func in meta_fast.META_FAST) else NotImplemented
            if out is NotImplemented:
                out = rec.call(func, args, kwargs)
        except Exception as e:
            rec.op_failed(func, args, kwargs, e, frame)
            raise
        if frame is not None and not frame.internal:
            rec.busy = True
            try:
                rec.op_done(func, args, kwargs, out, frame)
            finally:
                rec.busy = False
        return out


class Recorder:
    def __init__(self, model: nn.Module, dev: torch.device, core_checks: bool, model_name: str,
                 call: Callable[[Any, tuple, dict], Any] = _call):
        self.model = model
        self.call = call  # runs each torch call of the forward (on meta: ``values.MetaCalls``)
        self.dev = dev
        self.meta = dev.type == "meta"
        self.core_checks = core_checks
        self.fast = self.meta and core_checks  # shape-only short cuts instead of torch's meta kernels
        self.model_name = model_name
        self.modules = list(model.named_modules())  # one walk of the tree, for the names and the hooks
        self.names: dict[int, str] = {id(m): n for n, m in self.modules}
        self.rows: list[Row] = []
        self.stack: list[Frame] = []
        self.busy = False  # in a hook or a row's bookkeeping: calls made now are not the model's
        self.params = ParamCounter()
        self.first_row: dict[int, Row] = {}  # id(module) -> its first call's row
        self.calls: dict[int, int] = {}
        self.flow = FlowTensors()
        self.failures = Failures()
        self.warnings: list = []
        self.batch: int | None = None
        self._linears: list[tuple[str, int, int]] | None = None
        self.edges: list[Edge] = []
        self.failed_sources: tuple | None = None  # (failing op row's name, what fed it, as Frame's)
        self._hooks = (self._pre, self._post)

    # ---------------------------------------------------------------- run

    def run(self, args: tuple, kwargs: dict) -> Report:
        inputs = call_tensors(args, kwargs)
        self.input_dtypes = tuple(t.dtype for t in inputs)
        input_bytes = sum(t.numel() * t.element_size() for t in inputs)
        if inputs and inputs[0].dim() >= 2:
            self.batch = inputs[0].shape[0]
        for k, t in enumerate(inputs):
            nd = t.dim() - 2
            self.flow.add(t, receptive.initial(nd) if t.is_floating_point() and 1 <= nd <= 3 else None,
                          f"input:{k}")
        handles = []
        patched: list[nn.Module] = []
        error: Diagnosis | None = None
        failed_frame: Frame | None = None
        try:
            # A short-cut layer with no hooks at all (none global) gets the hooks called by
            # its short cut; torch calls them for every other module, after the user's own.
            for _, m in self.modules:
                own = self.fast and meta_fast.no_hooks(m)
                if self.fast and meta_fast.install_short_cut(m, self._frame, self._hooks if own else None):
                    patched.append(m)
                    if own:
                        continue
                handles.append(m.register_forward_pre_hook(self._pre, with_kwargs=True))
                handles.append(m.register_forward_hook(self._post, with_kwargs=True))
            with torch.no_grad(), _Watcher(self):
                output = self.model(*args, **kwargs)
            for k, t in enumerate(tensors(output)):
                src = self.flow.src(t)
                if src is not None:
                    self.edges.append(Edge(src, f"output:{k}", tuple(t.shape)))
        except Exception as e:  # noqa: BLE001 - every failure is either diagnosed or re-raised
            frame = self.stack[-1] if self.stack else None
            error = error_from(e, self.failures, rows=self.rows, frame_row=frame.row if frame else None,
                               frame_name=frame.name if frame else "", model_name=self.model_name, meta=self.meta,
                               context=self._context, input_dtypes=self.input_dtypes, model=self.model, call=(args, kwargs))
            failed_frame = frame
        finally:
            for h in handles:
                h.remove()
            for m in patched:
                vars(m).pop("forward", None)  # the class's forward again
        self.params.attribute_unused(self.modules, self.first_row)
        mark_leaves(self.rows)
        totals = finish_totals(self.rows, input_bytes=input_bytes)
        error_inputs: list = []
        unreached: list[Unreached] = []
        if error is not None:
            error_inputs = self._failed_edges(error, failed_frame)
            unreached = self._unreached(error)
        return Report(model=self.model_name, input_shapes=shapes(inputs), rows=self.rows, totals=totals,
                      warnings=self.warnings, error=error, device=self.dev.type, edges=self.edges,
                      not_reached=unreached, error_inputs=error_inputs)

    def _failed_edges(self, error: Diagnosis, frame: "Frame | None") -> list:
        """Edges into the failing row (it consumed its inputs before it failed), and the
        endpoints that fed it."""
        rows = self.rows
        if self.failed_sources is not None and self.failed_sources[0] == error.row:
            sources = self.failed_sources[1]
        elif frame is not None and frame.row.name == error.row:
            sources = frame.sources
        else:
            return []
        last = len(rows) - 1
        if last >= 0 and rows[last].name == error.row and not rows[last].output_shapes and rows[last].leaf:
            for src, shape in sources:
                if src is not None and src != last:
                    self.edges.append(Edge(src, last, shape))
        return [src for src, _ in sources if src is not None]

    def _origin(self, src: int | str | None) -> int | str | None:
        """The model input a tensor made by ``src`` comes from through rows of one input each
        (GPT-2's ``input_ids.view(-1, n)``), else ``src`` itself."""
        seen = set()
        node = src
        while isinstance(node, int) and node not in seen:
            seen.add(node)
            feeds = {e.src for e in self.edges if e.dst == node}
            if len(feeds) != 1:
                return src
            node = feeds.pop()
        return node if isinstance(node, str) else src

    def _unreached(self, error: Diagnosis) -> list[Unreached]:
        """Modules that never ran: the flow stopped first. Only modules with no children
        (their containers show as groups around them)."""
        out = []
        for name, m in self.model.named_modules():
            if not name or id(m) in self.calls or name == error.row or next(m.children(), None) is not None:
                continue
            out.append(Unreached(name, type(m).__name__, name.count(".") + 1))
        return out

    def _frame(self) -> Frame | None:
        """The module call in progress (innermost), if any."""
        return self.stack[-1] if self.stack else None

    def _context(self) -> Context:
        if self._linears is None:
            self._linears = [(n, m.in_features, m.out_features) for n, m in self.model.named_modules()
                             if isinstance(m, nn.Linear) and not uninitialized(m.weight)]
        return Context(rows=list(self.rows), batch=self.batch, linears=self._linears)

    # ---------------------------------------------------------------- module hooks

    @_unrecorded
    def _pre(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        if self.busy:
            return None
        self.busy = True
        try:
            parent = self.stack[-1] if self.stack else None
            if classify(module, parent) is not Role.MODULE_ROW:
                return None
            name = self.names.get(id(module))
            if name is None:  # a module made inside forward, not registered on the model
                name = (parent.name + "." if parent and parent.name else "") + f"<{type(module).__name__}>"
            depth = parent.depth + 1 if parent else 0
            ins = call_tensors(args, kwargs)
            row = Row(name=name, kind=type(module).__name__, depth=depth, input_shapes=shapes(ins),
                      output_shapes=[])
            n = self.calls.get(id(module), 0) + 1
            self.calls[id(module)] = n
            if n == 1:
                self.first_row[id(module)] = row
                self.params.count(module, row)
            elif any(p is not None for p in module._parameters.values()):
                row.notes.append(note("reused_module", call=n))
            self.rows.append(row)
            flow = self.flow
            sources = [(flow.src(t), shape) for t, shape in zip(ins, row.input_shapes)]
            frame = Frame(module, name, depth, row, adapters.nn_base(type(module)), len(self.rows) - 1, sources)
            self.stack.append(frame)
            if self.core_checks and frame.internal:
                self._core_check(frame, args, kwargs)
        finally:
            self.busy = False
        return None

    def _core_check(self, frame: Frame, args: tuple, kwargs: dict) -> None:
        try:
            rule = adapters.layer_rule(frame.module)
        except ShapeError as e:  # tensors torch refuses whatever the input
            return self._refused(frame, e)
        if rule is None:
            return  # no rule, or weights no arguments make: torch decides the shape
        name, kw, replaced = rule
        n = adapters.n_inputs(name)
        if kwargs or len(args) != n or not all(isinstance(a, torch.Tensor) for a in args):
            return  # called with extra arguments the core's rule does not model
        given = tuple(frame.row.input_shapes)  # the args: all tensors, no kwargs
        frame.core_name, frame.core_kwargs = name, kw
        try:
            result = answer(name, given[0] if n == 1 else list(given), kw)
        except (ArgumentError, UnknownLayerError):
            return  # the arguments could not be mapped: no formula, no check
        except ShapeError as e:
            return self._refused(frame, e if replaced is None else replaced_weights_error(e, replaced))
        frame.result = result
        if replaced is not None:
            frame.row.notes.append(replaced)

    def _refused(self, frame: Frame, e: ShapeError) -> None:
        """The core refused the call: on meta it fails here, as torch would on the CPU;
        on the CPU torch runs it and the core's words explain its error."""
        frame.core_error = e
        if self.meta:
            rejected = CoreRejected(str(e))
            self.failures.note(self._module_failure(frame, str(e)), rejected, append=False)
            raise rejected from None

    def _module_failure(self, frame: Frame, message: str):
        return module_failure(frame.row, frame.module, frame.base, message, frame.core_error,
                              frame.core_name, frame.core_kwargs)

    @_unrecorded
    def _post(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        if self.busy:
            return None
        self.busy = True
        try:
            while self.stack and self.stack[-1].module is not module:
                self.stack.pop()  # frames whose forward raised and was caught by the model
            if not self.stack:
                return None
            frame = self.stack.pop()
            row = frame.row
            ins = call_tensors(args, kwargs)
            outs = tensors(output)
            row.output_shapes = shapes(outs)
            row.output_bytes = new_bytes(ins, outs)
            has_children = self.rows[-1] is not row
            res = frame.result
            flow = self.flow
            rf: Any
            if res is not None:
                row.macs = res.macs
                row.formulas = list(res.formulas)
                row.notes = list(res.notes) + row.notes
                row.kwargs = dict(res.kwargs)
                rf = receptive.apply(flow.rf(ins[0]) if ins else None, res)
                if has_children and outs and outs[0] in flow:
                    rf = flow.rf(outs[0])
            elif frame.internal and not has_children:
                rule = rule_on(module, ins, row)
                if rule is not None:  # the layer's rule, on the input it got
                    row.macs = rule.macs
                    rf = receptive.apply(flow.rf(ins[0]), rule)
                else:
                    row.macs = ops.module_macs(module, frame.base, ins, outs)
                    rf = None
            else:  # the model's own module or a torch.nn container: its rows say it all
                row.macs = 0
                rf = flow.rf(outs[0]) if outs else None
            row.receptive_field = rf
            if not has_children:  # a leaf row: an edge from whatever made each input
                for src, shape in frame.sources:
                    if src is not None:
                        self.edges.append(Edge(src, frame.index, shape))
            for t in outs:
                if not has_children:
                    src = frame.index
                else:  # a container's output keeps the leaf inside that made it; made by an op
                    # that is no row (a fused fast path), it is the container's last row's
                    src = flow.src(t)
                    if src is None or (isinstance(src, int) and src < frame.index):
                        src = len(self.rows) - 1
                if res is not None or t not in flow or (frame.internal and not has_children):
                    flow.add(t, rf, src)
                elif flow.src(t) != src:
                    flow.add(t, flow.rf(t), src)
        finally:
            self.busy = False
        return None

    # ---------------------------------------------------------------- functional ops

    def op_done(self, func: Any, args: tuple, kwargs: dict, out: Any, frame: Frame) -> None:
        ins = call_tensors(args, kwargs)
        outs = [out] if out.__class__ is torch.Tensor else tensors(out)
        flow = self.flow
        tracked: list[torch.Tensor] = []  # the inputs in the flow, in order
        entries: list[tuple] = []  # their (receptive field, source), looked up once
        for t in ins:
            e = flow.get(t)
            if e is not None:
                tracked.append(t)
                entries.append(e)
        role = classify(func, frame, tracked, outs)  # its inputs in the flow decide
        if role is Role.IGNORED:
            return
        if role is Role.PASSTHROUGH:
            if tracked and tracked[0] is ins[0]:
                rf, src = entries[0]
                for t in outs:
                    if t is not ins[0]:
                        flow.add(t, rf, src)
            return
        index = len(self.rows)
        for t, (_, src) in zip(tracked, entries):
            if src is not None:
                self.edges.append(Edge(src, index, tuple(t.shape)))
        kind = ops.op_kind(func)
        row = Row(name=f"{frame.name}.{kind}" if frame.name else kind, kind=kind, depth=frame.depth + 1,
                  input_shapes=shapes(ins), output_shapes=shapes(outs),
                  macs=ops.op_macs(func, args, kwargs, outs), output_bytes=new_bytes(ins, outs), is_op=True)
        layer = self._functional_layer(func, args, kwargs, ins)
        if layer is not None:  # F.conv2d & co.: the layer's formula and receptive field
            row.formulas, row.notes, row.kwargs = list(layer.formulas), list(layer.notes), dict(layer.kwargs)
            rf = receptive.apply(flow.rf(ins[0]), layer)
        else:
            rf = _op_rf(func, args, kwargs, tracked, [e[0] for e in entries], outs)
        row.receptive_field = rf
        for t in outs:
            flow.add(t, rf, index)
        if func in ops.VIEWLIKE:
            req = ops.view_request(args, kwargs)
            if req is not None:
                row.kwargs = {"shape": list(req)}
                self._check_batch(row, req, ins[0], outs[0])
        elif func in ops.CONCAT:
            row.kwargs = {"dim": ops.cat_dim(args, kwargs)}
        self.rows.append(row)

    def _functional_layer(self, func: Any, args: tuple, kwargs: dict,
                          ins: list[torch.Tensor]) -> LayerResult | None:
        if not self.core_checks:
            return None
        call = adapters.functional_call(func, args, kwargs)
        if call is None or not ins:
            return None
        name, kw = call
        try:
            return answer(name, tuple(ins[0].shape), kw)
        except ShapeError:  # torch accepted the call: no formula rather than a wrong one
            return None

    def _check_batch(self, row: Row, req: tuple[int, ...], x: torch.Tensor, y: torch.Tensor) -> None:
        """A view/reshape with -1 that mixed samples: rows no longer align with the batch."""
        b = self.batch
        if b is None or -1 not in req or x.dim() < 2 or y.dim() < 1 or x.shape[0] != b:
            return
        if y.shape[0] % b:
            self.warnings.append(diagnose.batch_changed(row, req, tuple(x.shape), tuple(y.shape),
                                                        self._context()))

    def _mixed(self, func: Any, args: tuple, kwargs: dict, ins: list[torch.Tensor]) -> MixedDtypes | None:
        """The failed call's dtypes, when they are ones its CPU kernel does not mix."""
        if func not in meta_dtypes.MIXING or not ins:
            return None  # (a wrong index or label dtype: torch's own words say it)
        try:
            meta_dtypes.check(func, args, kwargs)
            return None
        except meta_dtypes.DtypeRefused:
            other = next(t for t in ins if t.dtype != ins[0].dtype)
            return MixedDtypes(ins[0].dtype, other.dtype, other not in self.flow,
                               self._origin(self.flow.src(ins[0])))

    def op_failed(self, func: Any, args: tuple, kwargs: dict, exc: BaseException, frame: Frame | None) -> None:
        if self.failures.noted(exc):
            return
        was = self.busy
        self.busy = True
        try:
            if frame is None:
                return
            ins = call_tensors(args, kwargs)
            indices = wrong_index_dtype(frame.base, func, ins)
            wrong = WrongDtype(indices.dtype, self._origin(self.flow.src(indices))) if indices is not None \
                else self._mixed(func, args, kwargs, ins)
            if frame.internal:  # torch rejected the layer's own implementation: the layer's failure
                msg = str(frame.core_error) if frame.core_error else first_line(exc)
                self.failures.note(self._module_failure(frame, msg), exc, append=False, wrong_dtype=wrong)
                return
            kind = ops.op_kind(func)
            row = Row(name=f"{frame.name}.{kind}" if frame.name else kind, kind=kind, depth=frame.depth + 1,
                      input_shapes=shapes(ins), output_shapes=[], is_op=True)
            self.failed_sources = (row.name, [(self.flow.src(t), tuple(t.shape)) for t in ins])
            self.failures.note(op_failure(row, func, args, kwargs, ins, exc), exc, append=True, wrong_dtype=wrong)
        finally:
            self.busy = was


def _op_rf(func: Any, args: tuple, kwargs: dict, tracked: list[torch.Tensor], fields: list,
           outs: list[torch.Tensor]) -> ReceptiveField | None:
    """An op row's receptive field from its inputs in the flow (``tracked``, with their
    ``fields``): kept by elementwise ops of equal rank, merged by a concat along the batch
    or channels; else none."""
    if not tracked:
        return None
    rule = ops.rf_rule(func)
    if rule is ops.RFRule.KEEP and all(t.dim() == outs[0].dim() for t in tracked):
        return functools.reduce(receptive.merge, fields)
    if rule is ops.RFRule.CAT and outs[0].dim() >= 3:
        if ops.cat_dim(args, kwargs) % outs[0].dim() in (0, 1):  # batch or channels
            return functools.reduce(receptive.merge, fields)
    return None
