"""Text -> plain data for every place a user's YAML or JSON enters (spec files, ``key=value``
on the command line, ``--kwargs``): safe loaders only (data, never code), bounded nesting,
and numbers read the way JSON and YAML 1.2 read them.

Why each rule:
- Nesting is refused *before* it is built: ``json.loads`` recurses in C and PyYAML's composer
  in Python, so a 10,000-deep file ended in a RecursionError. JSON text is scanned for its
  bracket depth first; YAML events are counted as the parser produces them (the parser is a
  state machine, not recursive), before the composer recurses into them.
- YAML 1.2's core schema for scalars (https://yaml.org/spec/1.2.2/#1032-tag-resolution):
  PyYAML implements YAML 1.1, where ``5e-1`` and ``2e0`` are strings, ``010`` is 8, ``1:20``
  is 80, ``no`` is False and ``2001-12-14`` a date. JSON and YAML 1.2 agree on numbers; a
  user who writes ``p=5e-1`` means 0.5.
- Aliases (``*name``) are refused: they repeat a subtree exponentially often ("billion
  laughs"), and a spec never needs one.
- A UTF-8 byte order mark is dropped for JSON as YAML drops it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import SpecError

# Containers inside containers. A spec's blocks nest at most 64 deep (spec.MAX_NESTING) and
# each level is at most 3 containers (a Concat's list of branch lists), so 200 is never hit by
# a spec that could be valid; it keeps PyYAML's recursive composer far from Python's limit.
MAX_DEPTH = 200

BOM = "\ufeff"


class TooDeep(SpecError):
    """Data nested deeper than ``MAX_DEPTH`` (refused before it is built)."""


def _too_deep(source: str, where: str = "") -> TooDeep:
    return TooDeep(f"{source}: nested more than {MAX_DEPTH} levels deep{where}; "
                   f"a spec never needs that many")


# --------------------------------------------------------------------------- JSON

# A JSON string (with its escapes) or one bracket: strings are skipped, brackets counted.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)


def json_depth_ok(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether the brackets of JSON ``text`` (outside strings) nest at most ``limit`` deep.
    Linear in the text, no recursion; malformed text is left to the parser to report."""
    depth = 0
    for m in _JSON_TOKENS.finditer(text):
        ch = m.group()
        if ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def load_json(text: str, source: str = "spec") -> Any:
    """Strict JSON text -> data (a leading BOM is dropped; nesting is bounded)."""
    if text.startswith(BOM):
        text = text[1:]
    if not json_depth_ok(text):
        raise _too_deep(source)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except (json.JSONDecodeError, ValueError) as e:  # ValueError: an int of > 4300 digits
        raise SpecError(f"{source}: invalid JSON: {e}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose key is given twice is refused (the last one silently winning hid
    typos); ValueError, reported as invalid JSON."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} is given twice")
        out[k] = v
    return out


# --------------------------------------------------------------------------- YAML

# YAML 1.2 core schema, https://yaml.org/spec/1.2.2/#1032-tag-resolution
_NULL = r"^(?:~|null|Null|NULL|)$"
_BOOL = r"^(?:true|True|TRUE|false|False|FALSE)$"
_INT = r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"
_FLOAT = (r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
          r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")

_LOADER = None


def yaml_loader():
    """PyYAML's SafeLoader with YAML 1.2 core scalars, no aliases and bounded nesting (built once,
    on first use: ``import shapetrace`` does not import yaml)."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    class SafeLoader12(yaml.SafeLoader):
        source = "spec"

        def __init__(self, stream):
            super().__init__(stream)
            self._depth = 0

        def get_event(self):
            event = super().get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                self._depth += 1
                if self._depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise _too_deep(self.source, f" (at line {mark.line + 1})")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                self._depth -= 1
            return event

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed", event.start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    dup = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: PyYAML reports it
                    continue
                if dup:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice", key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node):
            v = self.construct_scalar(node)
            return int(v, 0) if v[:2] in ("0o", "0x") else int(v, 10)

        def construct_yaml_float(self, node):
            v = self.construct_scalar(node).lower()
            if v.endswith(".inf"):
                return float("-inf") if v.startswith("-") else float("inf")
            return float("nan") if v == ".nan" else float(v)

    SafeLoader12.yaml_implicit_resolvers = {}  # drop YAML 1.1's (bool yes/no, 1:20, dates, ...)
    for tag, rx, first in (
            ("null", _NULL, ["~", "n", "N", ""]),
            ("bool", _BOOL, list("tTfF")),
            ("int", _INT, list("-+0123456789")),
            ("float", _FLOAT, list("-+.0123456789"))):
        SafeLoader12.add_implicit_resolver(f"tag:yaml.org,2002:{tag}", re.compile(rx), first)
    SafeLoader12.add_constructor("tag:yaml.org,2002:int", SafeLoader12.construct_yaml_int)
    SafeLoader12.add_constructor("tag:yaml.org,2002:float", SafeLoader12.construct_yaml_float)
    _LOADER = SafeLoader12
    return _LOADER


def load_yaml(text: str, source: str = "spec") -> Any:
    """YAML text (JSON is YAML too) -> data; SpecError with the line on malformed text."""
    import yaml

    loader = yaml_loader()(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except TooDeep:
        raise
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(f"{source}: invalid YAML{where}: {problem}") from None
    except (ValueError, RecursionError) as e:  # an int of > 4300 digits
        raise SpecError(f"{source}: invalid YAML: {' '.join(str(e).split())}") from None
    finally:
        loader.dispose()
