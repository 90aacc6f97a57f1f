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
    """Build the nn.Module a target names (imports torch)."""
    from torch import nn

    kwargs = dict(kwargs or {})
    if target.kind is TargetKind.BUILTIN:
        b = BUILTINS[target.location]
        obj = getattr(importlib.import_module(b.module), b.attr)
        where = target.location
    elif target.kind is TargetKind.FILE:
        obj = getattr(_import_file(target.location), target.attr or "", _NONE)
        where = f"{target.location}:{target.attr}"
        if obj is _NONE:
            raise TargetError(f"{target.location} has no {target.attr!r}")
    elif target.kind is TargetKind.MODULE:
        try:
            mod = importlib.import_module(target.location)
        except ImportError as e:
            raise TargetError(f"cannot import module {target.location!r}: {e}") from None
        except Exception as e:  # noqa: BLE001 - the user's module failed while importing
            raise TargetError(f"importing {target.location!r} raised {type(e).__name__}: {_line(e)}") from None
        obj = getattr(mod, target.attr or "", _NONE)
        where = f"{target.location}:{target.attr}"
        if obj is _NONE:
            raise TargetError(f"module {target.location!r} has no {target.attr!r}")
    else:
        raise TargetError(f"{target.location} is a spec file, not a model")

    if isinstance(obj, nn.Module):
        if kwargs:
            raise TargetError(f"{where} is a module instance; --kwargs applies to a class or factory")
        return obj
    if not callable(obj):
        raise TargetError(f"{where} is a {type(obj).__name__}, not an nn.Module class or factory")
    try:
        inspect.signature(obj).bind(**kwargs)
    except TypeError as e:
        raise TargetError(f"{where}: bad --kwargs: {e}") from None
    except ValueError:
        pass  # no signature (builtins): let the call decide
    try:
        model = obj(**kwargs)
    except ShapetraceError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's constructor failed
        raise TargetError(f"building {where} raised {type(e).__name__}: {_line(e)}") from None
    if not isinstance(model, nn.Module):
        raise TargetError(f"{where} returned a {type(model).__name__}, not an nn.Module")
    return model


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
