"""Byte-compile the installed shapetrace package before a cold-start measurement.

A regular ``pip install`` writes the ``.pyc`` files at install time. An editable install
does not, and when ``PYTHONDONTWRITEBYTECODE`` is set (it is on the machines this project
is measured on) Python never caches them either, so every start recompiles about sixty
modules (~0.12 s here). Cold-start numbers must describe what a user's install does, so
the benchmarks compile once, up front. ``py_compile`` writes the cache regardless of
``PYTHONDONTWRITEBYTECODE``; Python still reads an existing cache under that setting.
"""

from __future__ import annotations

import compileall
import importlib.util
from pathlib import Path


def compile_package(name: str = "shapetrace") -> Path:
    """Write ``__pycache__`` for every module of ``name``; return the package folder."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"error: package {name!r} is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not compileall.compile_dir(str(folder), quiet=1):
        raise SystemExit(f"error: byte-compiling {folder} failed")
    return folder
