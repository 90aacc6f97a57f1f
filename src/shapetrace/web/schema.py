"""JSON Schemas of the API's bodies, for ``/openapi.json``.

The request schema is the spec format of ARCHITECTURE.md ("Spec files"), with the
bounds of ``limits.Limits`` written in, so that a client (or schemathesis) that
follows the schema sends what the server accepts. The response schema is
``Report.to_dict()`` (core/records.py), the same JSON as ``shapetrace summary
--format json``; tests validate real reports against it.
"""

from __future__ import annotations

from typing import Any

from ..core.spec import BLOCK_TYPES, BLOCKS, DTYPE_BYTES, MAX_DIMS, BlockType, FieldKind
from ..core.explain import Lang
from ..render.options import Layout
from .limits import Limits

# the keys of /api/view's display text: what tasks.view_json makes
_LANGS = [lg.value for lg in Lang]
_LAYOUTS = [lay.value for lay in Layout]

REF = "#/components/schemas/"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _block_schema(block: BlockType, name: dict, layers: dict, int_: dict, limits: Limits) -> dict[str, Any]:
    """A spec block's schema, from its one description (core.spec.BLOCK_TYPES)."""
    props: dict[str, Any] = {"type": {"const": block.type}, "name": name}
    for f in block.fields:
        if f.kind is FieldKind.INT:
            props[f.key] = int_
        elif f.kind is FieldKind.LAYERS:
            props[f.key] = {**layers, "minItems": f.min_items} if f.min_items else layers
        else:
            props[f.key] = {"type": "array", **({"minItems": f.min_items} if f.min_items else {}),
                            "maxItems": limits.max_layers, "items": layers}
    return {"type": "object", "title": block.type, "description": block.description,
            "required": ["type", *(f.key for f in block.fields if f.required)],
            "properties": props, "additionalProperties": False}


def components(limits: Limits, layer_names: list[str]) -> dict[str, Any]:
    """Every named schema the API refers to."""
    int_ = {"type": "integer", "minimum": -limits.max_abs_int, "maximum": limits.max_abs_int}
    num = {"type": "number", "minimum": -limits.max_abs_float, "maximum": limits.max_abs_float}
    text = {"type": "string", "maxLength": limits.max_str}
    name = {"type": "string", "minLength": 1, "maxLength": limits.max_str, "pattern": r"^[^.\s]+$",
            "description": "the layer's name (no dots or spaces); rows are named like "
                           "named_modules(): block.name, or block.body.0 when unnamed"}
    layers = {"type": "array", "maxItems": limits.max_layers, "items": ref("Layer")}
    scalar = {"anyOf": [{"type": "null"}, {"type": "boolean"}, int_, num, text]}
    shape = {"type": "array", "items": {"type": "integer"}}
    return {
        "Spec": {
            "type": "object",
            "title": "Spec",
            "description": "A declarative model: the full input shape and the layers (the same "
                           "schema as the CLI's YAML/JSON spec files).",
            "required": ["input", "layers"],
            "properties": {
                "input": {"type": "array", "minItems": 1, "maxItems": MAX_DIMS,
                          "items": {"type": "integer", "minimum": 1, "maximum": limits.max_abs_int},
                          "description": "the full input shape, batch included, e.g. [1, 1, 28, 28]"},
                "layers": layers,
                "name": {"type": "string", "minLength": 1, "maxLength": limits.max_str,
                         "pattern": r"\S"},
                "dtype": {"type": "string", "enum": list(DTYPE_BYTES)},
            },
        },
        "Layer": {
            "description": "A torch.nn layer with its constructor arguments, or a block.",
            "anyOf": [ref("LayerCall"), *(ref(b) for b in BLOCK_TYPES)],
        },
        "LayerCall": {
            "type": "object",
            "title": "LayerCall",
            "description": "type: a torch.nn class name; every other key is one of its "
                           "constructor arguments (in_channels, in_features ... may be left out: "
                           "they are read off the input).",
            "required": ["type"],
            "properties": {"type": {"type": "string", "enum": layer_names}, "name": name},
            "additionalProperties": ref("ArgValue"),
        },
        "ArgValue": {
            "description": "a constructor argument: a number, string, true/false, null, or a "
                           "tuple such as [3, 3]",
            "anyOf": [*scalar["anyOf"],
                      {"type": "array", "maxItems": limits.max_list, "items": scalar}],
        },
        **{b.type: _block_schema(b, name, layers, int_, limits) for b in BLOCK_TYPES.values()},
        "Error": {
            "type": "object",
            "title": "Error",
            "required": ["detail"],
            "properties": {"detail": {"type": "string", "description": "what is wrong, one line"}},
        },
        # ---- the response: Report.to_dict() (core/records.py)
        "Report": {
            "type": "object",
            "title": "Report",
            "description": "The flow of the spec, row by row; when a layer fails, the rows up to "
                           "it and `error`. The same JSON as `shapetrace summary --format json`.",
            "required": ["model", "input_shapes", "device", "rows", "totals", "warnings", "error"],
            "properties": {
                "model": {"type": "string"},
                "input_shapes": {"type": "array", "items": shape},
                "device": {"type": "string"},
                "rows": {"type": "array", "items": ref("Row")},
                "totals": ref("Totals"),
                "warnings": {"type": "array", "items": ref("Warning")},
                "error": {"anyOf": [ref("Diagnosis"), {"type": "null"}]},
            },
        },
        "Row": {
            "type": "object",
            "title": "Row",
            "required": ["name", "kind", "depth", "input_shapes", "output_shapes", "params",
                         "trainable_params", "macs", "output_bytes", "param_bytes",
                         "receptive_field", "formulas", "notes", "is_op", "leaf", "kwargs"],
            "properties": {
                "name": {"type": "string"},
                "kind": {"type": "string", "description": "torch.nn class name, a block "
                                                          "(" + ", ".join(BLOCKS) + ") or an op"},
                "depth": {"type": "integer", "minimum": 0},
                "input_shapes": {"type": "array", "items": shape},
                "output_shapes": {"type": "array", "items": shape},
                "params": {"type": "integer", "minimum": 0},
                "trainable_params": {"type": "integer", "minimum": 0},
                "macs": {"type": ["integer", "null"], "description": "null: cost unknown"},
                "output_bytes": {"type": "integer", "minimum": 0},
                "param_bytes": {"type": "integer", "minimum": 0},
                "receptive_field": {"anyOf": [ref("ReceptiveField"), {"type": "null"}]},
                "formulas": {"type": "array", "items": ref("DimFormula")},
                "notes": {"type": "array", "items": ref("Note")},
                "is_op": {"type": "boolean"},
                "leaf": {"type": "boolean"},
                "kwargs": {"type": "object"},
            },
        },
        "ReceptiveField": {
            "type": "object",
            "required": ["size", "jump", "start"],
            "properties": {"size": {"type": "array", "items": {"type": "integer"}},
                           "jump": {"type": "array", "items": {"type": "integer"}},
                           "start": {"type": "array", "items": {"type": "number"}}},
        },
        "DimFormula": {
            "type": "object",
            "required": ["axis", "formula", "worked", "value"],
            "properties": {"axis": {"type": "string"}, "formula": {"type": "string"},
                           "worked": {"type": "string"}, "value": {"type": "integer"}},
        },
        "Note": {
            "type": "object",
            "required": ["key", "params"],
            "properties": {"key": {"type": "string"}, "params": {"type": "object"}},
        },
        "Totals": {
            "type": "object",
            "required": ["params", "trainable_params", "macs", "macs_partial", "param_bytes",
                         "activation_bytes", "input_bytes"],
            "properties": {k: {"type": "integer", "minimum": 0} for k in
                           ("params", "trainable_params", "macs", "param_bytes",
                            "activation_bytes", "input_bytes")} | {"macs_partial": {"type": "boolean"}},
        },
        "Warning": {
            "type": "object",
            "required": ["code", "row", "message", "fix"],
            "properties": {"code": {"type": "string"}, "row": {"type": "string"},
                           "message": {"type": "string"}, "fix": {"type": ["string", "null"]}},
        },
        "Diagnosis": {
            "type": "object",
            "required": ["row", "kind", "message", "expected", "actual", "arithmetic", "fixes",
                         "argument"],
            "properties": {
                "row": {"type": "string"}, "kind": {"type": "string"},
                "message": {"type": "string"},
                "expected": {"anyOf": [shape, {"type": "null"}]},
                "actual": {"anyOf": [shape, {"type": "null"}]},
                "arithmetic": {"type": "array", "items": {"type": "string"}},
                "fixes": {"type": "array", "items": {"type": "string"}},
                "argument": {"type": ["string", "null"]},
            },
        },
        "View": {
            "type": "object",
            "title": "View",
            "required": ["flow", "display"],
            "properties": {"flow": ref("Report"), "display": ref("Display")},
        },
        "Display": {
            "type": "object",
            "description": "text for the page, per layout (nchw, hwc) and language (en, ko)",
            "required": ["input", "rows", "error", "paths"],
            "properties": {
                "input": ref("ShapesText"),
                "paths": {"type": "object", "additionalProperties": {"type": "string"},
                          "description": "row name -> the layer's place in the spec, "
                                         "e.g. layers/3/body/0"},
                "rows": {"type": "array", "items": {
                    "type": "object", "required": ["in", "out", "notes"],
                    "properties": {"in": ref("ShapesText"), "out": ref("ShapesText"),
                                   "sym": {"anyOf": [{"type": "null"}, {
                                       "type": "object", "required": _LAYOUTS,
                                       "properties": {lay: {"type": "string"} for lay in _LAYOUTS}}],
                                       "description": "only with ?symbolic=true: the output as a "
                                                      "formula of the varying input sizes, per "
                                                      "layout; null where there is none"},
                                   "notes": {"type": "object", "required": ["en", "ko"],
                                             "properties": {lg: {"type": "array",
                                                                 "items": {"type": "string"}}
                                                            for lg in _LANGS}}}}},
                "error": {"anyOf": [{"type": "null"}, {
                    "type": "object", "required": ["actual", "expected"],
                    "properties": {"actual": {"anyOf": [ref("ShapesText"), {"type": "null"}]},
                                   "expected": {"anyOf": [ref("ShapesText"), {"type": "null"}]}}}]},
            },
        },
        "ShapesText": {
            "type": "object",
            "required": ["nchw", "hwc"],
            "properties": {lay: {"type": "array", "items": {"type": "string"}}
                           for lay in _LAYOUTS},
        },
        # ---- the other endpoints
        "ParseRequest": {
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string", "maxLength": limits.max_body_bytes,
                                    "description": "a spec file's text, YAML or JSON"},
                           "format": {"type": "string", "enum": ["yaml", "json"],
                                      "default": "yaml",
                                      "description": "json: strict JSON; yaml: YAML (JSON too)"}},
            "additionalProperties": False,
        },
        "LayerInfo": {
            "type": "object",
            "required": ["name", "family", "inputs", "args"],
            "properties": {
                "name": {"type": "string"}, "family": {"type": "string"},
                "inputs": {"type": "integer"},
                "args": {"type": "array", "items": {
                    "type": "object", "required": ["name", "required", "inferred", "default"],
                    "properties": {"name": {"type": "string"}, "required": {"type": "boolean"},
                                   "inferred": {"type": "boolean"}, "default": {},
                                   "default_text": {"type": "string"}}}},
            },
        },
        "Preset": {
            "type": "object",
            "required": ["id", "title"],
            "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                           "titles": {"type": "object", "required": _LANGS,
                                      "properties": {lg: {"type": "string"} for lg in _LANGS},
                                      "description": "the title in each page language"},
                           "description": {"type": "string"}},
        },
    }


def block_table() -> list[dict[str, Any]]:
    """The spec's block types for the page (GET /blocks.js): each block's fields, from
    core.spec.BLOCK_TYPES, so the page's editor knows the blocks the parser knows. ``always``:
    the field is sent even when empty (the page drops the other empty sections, as
    ``Spec.to_dict`` does); ``default``: an int field's value when the spec leaves it out."""
    return [{"type": b.type, "description": b.description, "op": b.op,
             "fields": [{"key": f.key, "kind": f.kind.value, "required": f.required, "min_items": f.min_items,
                         "always": f.always, "default": f.default, "start_items": f.start_items}
                        for f in b.fields]}
            for b in BLOCK_TYPES.values()]
