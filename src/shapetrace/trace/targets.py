"""What ``shapetrace summary TARGET`` names: a spec file, a built-in model, a class or factory
in a Python file, or one in an importable module.

``parse_target`` is torch-free (a spec file must never import torch); ``load_model``
imports torch and builds the module.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ..core.errors import ShapetraceError, one_line
from ..core.records import Shape
from .usercode import user_code

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


class TargetKind(str, Enum):
    SPEC = "spec"  # examples/seed.yaml
    BUILTIN = "builtin"  # seed, seed-verbatim
    FILE = "file"  # path/to/model.py:Name
    MODULE = "module"  # package.module:factory


@dataclass(frozen=True)
class Builtin:
    module: str
    attr: str
    input: Shape
    about: str


BUILTINS: dict[str, Builtin] = {
    "seed": Builtin("shapetrace.models.seed", "CNNWithResidual", (1, 1, 28, 28),
                    "the seed's CNNWithResidual, corrected (fc1 takes 1152 features, flatten(1))"),
    "seed-verbatim": Builtin("shapetrace.models.seed_verbatim", "CNNWithResidual", (1, 1, 28, 28),
                             "the seed's code exactly as written (Linear(6272, 512), view(-1, 6272))"),
}


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    location: str  # spec path, built-in name, .py path or module name
    attr: str | None = None  # class or factory name

    @property
    def default_input(self) -> Shape | None:
        return BUILTINS[self.location].input if self.kind is TargetKind.BUILTIN else None


class TargetError(ShapetraceError):
    """The target cannot be found or built (exit code 2)."""

    exit_code = 2


def parse_target(text: str | None) -> Target:
    if text is None or not text.strip():
        return Target(TargetKind.BUILTIN, "seed")
    t = text.strip()
    if t in BUILTINS:
        return Target(TargetKind.BUILTIN, t)
    if t.lower().endswith(SPEC_SUFFIXES):
        return Target(TargetKind.SPEC, t)
    left, sep, right = t.rpartition(":")
    if sep and left and right:
        if not right.isidentifier():
            raise TargetError(f"target {t!r}: {right!r} is not a Python name (want FILE.py:Name or "
                              f"package.module:factory)")
        if left.endswith(".py") or os.sep in left or "/" in left:
            return Target(TargetKind.FILE, left, right)
        return Target(TargetKind.MODULE, left, right)
    names = ", ".join(sorted(BUILTINS))
    raise TargetError(f"unknown target {t!r}: give a spec file (.yaml/.yml/.json), path/file.py:Name, "
                      f"package.module:factory, or a built-in name ({names})")


def load_model(target: Target, kwargs: dict[str, Any] | None = None):
    """Build the nn.Module a target names (imports torch). The target's code runs inside
    ``user_code``: what it prints goes to stderr, ``sys.exit``/``os._exit`` is an error."""
    with user_code():
        return _load_model(target, kwargs)


def _load_model(target: Target, kwargs: dict[str, Any] | None):
    from torch import nn

    kwargs = dict(kwargs or {})
    if target.kind is TargetKind.BUILTIN:
        b = BUILTINS[target.location]
        obj = getattr(importlib.import_module(b.module), b.attr)
        where, home = target.location, b.module
    elif target.kind is TargetKind.FILE:
        mod = _import_file(target.location)
        obj = getattr(mod, target.attr or "", _NONE)
        where, home = f"{target.location}:{target.attr}", mod.__name__
        if obj is _NONE:
            raise TargetError(f"{target.location} has no {target.attr!r}")
    elif target.kind is TargetKind.MODULE:
        try:
            importlib.import_module(target.location)
        except ImportError as e:
            raise TargetError(f"cannot import module {target.location!r}: {e}") from None
        except Exception as e:  # noqa: BLE001 - the user's module failed while importing
            raise TargetError(f"importing {target.location!r} raised {type(e).__name__}: {_line(e)}") from None
        obj = getattr(sys.modules[target.location], target.attr or "", _NONE)
        where, home = f"{target.location}:{target.attr}", target.location
        if obj is _NONE:
            raise TargetError(f"module {target.location!r} has no {target.attr!r}")
    else:
        raise TargetError(f"{target.location} is a spec file, not a model")

    if isinstance(obj, nn.Module):
        if kwargs:
            raise TargetError(f"{where} is a module instance; --kwargs applies to a class or factory")
        return obj
    check_buildable(obj, where, home)
    try:
        inspect.signature(obj).bind(**kwargs)
    except TypeError as e:
        raise TargetError(f"{where}: bad --kwargs: {e}") from None
    except ValueError:
        pass  # no signature: let the call decide
    try:
        model = obj(**kwargs)
    except ShapetraceError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's constructor failed
        raise TargetError(f"building {where} raised {type(e).__name__}: {_line(e)}") from None
    if not isinstance(model, nn.Module):
        raise TargetError(f"{where} returned a {type(model).__name__}, not an nn.Module")
    return model


# What a target may name, decided before anything is called (issue 14 item 10: `shutil:rmtree
# --kwargs path=...` deleted a folder and then said "returned a NoneType").
CALLABLE_RULE = ("an nn.Module instance, an nn.Module subclass, or a Python function defined in the "
                 "target's own module or package or annotated to return an nn.Module (never a builtin "
                 "or C function, a function of the standard library, or one annotated to return "
                 "something else)")


def check_buildable(obj: Any, where: str, home: str) -> None:
    """Refuse ``obj`` unless calling it is building a model as far as can be told before the
    call (``CALLABLE_RULE``); ``home`` is the module the target named."""
    from torch import nn

    def refuse(what: str) -> None:
        raise TargetError(f"{where} is {what}; a target must be {CALLABLE_RULE}")

    if inspect.isclass(obj):
        if not issubclass(obj, nn.Module):
            refuse(f"the class {obj.__module__}.{obj.__qualname__}, not an nn.Module subclass")
        return
    if not inspect.isfunction(obj):  # builtins, C functions, partials, objects with __call__
        refuse(f"a {type(obj).__name__}, not an nn.Module, a class or a Python function")
    module = getattr(obj, "__module__", None) or ""
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top == "builtins":
        refuse(f"{module}.{obj.__qualname__}, a function of Python's standard library")
    returns = _returns_module(obj)
    if returns is False:
        refuse(f"a function annotated to return {_annotation_text(obj)}")
    if returns is None and top != home.partition(".")[0]:
        refuse(f"{module}.{obj.__qualname__}, a function from another package that does not say it "
               f"returns an nn.Module")


def _returns_module(fn: Any) -> bool | None:
    """True: ``fn`` is annotated to return an nn.Module (sub)class; False: annotated to return
    something else (``None``, ``Any``, ``str``...); None: no annotation, or one that cannot be
    resolved or is a typing construct (Optional[...], a TypeVar): cannot tell."""
    import typing

    from torch import nn

    try:
        ann = typing.get_type_hints(fn).get("return", inspect.Signature.empty)
    except Exception:  # noqa: BLE001 - a string annotation naming what the module lacks
        return None
    if ann is inspect.Signature.empty:
        return None
    if ann is type(None) or ann is typing.Any:
        return False
    if inspect.isclass(ann):
        return issubclass(ann, nn.Module)
    return None


def _annotation_text(fn: Any) -> str:
    ann = getattr(fn, "__annotations__", {}).get("return")
    return ann if isinstance(ann, str) else getattr(ann, "__qualname__", None) or repr(ann)


_NONE = object()


def _import_file(path: str):
    p = Path(path)
    if not p.is_file():
        raise TargetError(f"no such file: {path}")
    if p.suffix != ".py":
        raise TargetError(f"{path} is not a .py file")
    name = "_shapetrace_target_" + "".join(c if c.isalnum() else "_" for c in str(p.resolve()))
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot load {path} as Python")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses and pickling look the module up by name
    folder = str(p.resolve().parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)  # so the file can import its neighbours
    try:
        spec.loader.exec_module(mod)
    except SyntaxError as e:
        sys.modules.pop(name, None)
        raise TargetError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:  # noqa: BLE001 - the user's file failed while importing
        sys.modules.pop(name, None)
        raise TargetError(f"importing {path} raised {type(e).__name__}: {_line(e)}") from None
    finally:
        if added:
            sys.path.remove(folder)
    return mod


def _line(e: BaseException) -> str:
    return one_line(e) or "(no message)"
