"""The page's presets: the spec files shipped in ``shapetrace/examples``, read by the core.

Any ``*.yaml`` there becomes a preset; its id is the file's stem, its titles the one text
table's ``preset.<id>`` (core/words_ui.py), else the spec's ``name``, and its description
the first comment line of the file. The seed, ResNet-18 and VGG-16 come first.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

from ..core.spec import parse_spec, parse_text
from ..core import words

_FIRST = ("seed", "resnet18", "vgg16")


@functools.lru_cache(maxsize=1)
def _files() -> dict[str, Any]:
    """Listed once per process: the shipped files do not change while the server runs."""
    root = resources.files("shapetrace") / "examples"
    found = {}
    for entry in root.iterdir():
        if entry.name.endswith((".yaml", ".yml")) and entry.is_file():
            found[entry.name.rsplit(".", 1)[0]] = entry
    return found


def preset_ids() -> list[str]:
    ids = sorted(_files())
    return [i for i in _FIRST if i in ids] + [i for i in ids if i not in _FIRST]


def _description(text: str) -> str:
    """The file's leading comment block, as one paragraph."""
    lines = []
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("#"):
            break
        lines.append(s.lstrip("#").strip())
    return " ".join(x for x in lines if x)


@functools.lru_cache(maxsize=1)
def list_presets() -> list[dict[str, str]]:
    """Read once per process: the shipped files do not change while the server runs."""
    out = []
    files = _files()
    for pid in preset_ids():
        text = files[pid].read_text(encoding="utf-8")
        data = parse_text(text, source=pid)
        name = str(data.get("name", pid) if isinstance(data, dict) else pid)
        titles = _titles(pid, name)
        out.append({"id": pid, "title": titles["en"], "titles": dict(titles),
                    "description": _description(text)})
    return out


def _titles(pid: str, name: str) -> dict[str, str]:
    """The preset's title in each page language (the page shows ``titles[lang]``)."""
    key = f"preset.{pid}"
    return {lang.value: words.text(key, lang) if words.has(key) else name for lang in words.Lang}


def load_preset(pid: str) -> dict[str, Any] | None:
    """The preset's spec as plain data (``Spec.to_dict()``), or None when there is none.
    A shipped spec the core cannot read raises SpecError (tests load every preset)."""
    if pid not in preset_ids():
        return None
    return copy.deepcopy(_load(pid))


@functools.lru_cache(maxsize=32)
def _load(pid: str) -> dict[str, Any]:
    text = _files()[pid].read_text(encoding="utf-8")
    return parse_spec(parse_text(text, source=pid), source=pid).to_dict()
