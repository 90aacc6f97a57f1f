"""Every registered layer (not only every family) is complete: torch-oracle cases draw
it, its category has words in both languages, the notes it emits are declared on its
rule, and the kinds table (core/kinds.py) does not repeat what a rule says."""

from __future__ import annotations

import importlib
import pathlib
import re

from hypothesis import HealthCheck, find, given, settings
from hypothesis.errors import NoSuchExample
from hypothesis.strategies import SearchStrategy

from shapetrace.core import kinds
from shapetrace.core.explain import Lang
from shapetrace.core.layers import REGISTRY
from shapetrace.core.words import NOTES
from shapetrace.core.records import Row
from shapetrace.render.describe import describe

HERE = pathlib.Path(__file__).parent
CORE = HERE.parents[1] / "src" / "shapetrace" / "core"
DRAWS = 100  # per strategy (drawing costs no torch call); a layer not drawn is searched for


def oracle_strategies() -> dict[str, SearchStrategy]:
    """Every ``*_cases`` strategy of the test_oracle_*.py files (what run_cases checks)."""
    out = {}
    for path in sorted(HERE.glob("test_oracle_*.py")):
        mod = importlib.import_module(f"{__package__}.{path.stem}")
        for name, fn in vars(mod).items():
            if name.endswith("_cases") and callable(fn) and getattr(fn, "__module__", "") == mod.__name__:
                out[f"{path.stem}.{name}"] = fn()
    return out


def drawn_layers(strategy: SearchStrategy) -> set[str]:
    seen: set[str] = set()

    @settings(max_examples=DRAWS, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(case):
        seen.add(case[0])

    draw()
    return seen


def found(strategy: SearchStrategy, layer: str) -> bool:
    """Whether ``strategy`` can draw a case of ``layer`` (a search, for the rare ones)."""
    try:
        find(strategy, lambda case: case[0] == layer,
             settings=settings(max_examples=1000, database=None, derandomize=True,
                               suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return False
    return True


def test_every_registered_layer_has_an_oracle_strategy():
    strategies = oracle_strategies()
    assert strategies
    drawn: set[str] = set()
    for s in strategies.values():
        drawn |= drawn_layers(s)
    rare = set(REGISTRY) - drawn
    # a rare layer is searched for in its own family's file only (test_oracle_<family>.py)
    missing = sorted(n for n in rare if not any(
        found(s, n) for k, s in strategies.items() if k.startswith(f"test_oracle_{REGISTRY[n].family}.")))
    assert not missing, f"layers no torch-oracle strategy draws: {missing}"


def test_every_registered_layer_has_a_description_in_both_languages():
    blank = []
    for name, defn in REGISTRY.items():
        row = Row(name=name.lower(), kind=name, depth=1, input_shapes=[(2, 3, 4, 4)], output_shapes=[(2, 48)])
        for lang in Lang:
            if not describe(row, defn.category, lang).strip():
                blank.append((name, defn.category.value, lang.value))
    assert not blank, f"layers whose category has no words: {blank}"


def test_every_emitted_note_is_declared_by_a_rule_and_has_words():
    declared = {k for d in REGISTRY.values() for k in d.notes}
    emitted = set()
    for path in (CORE / "layers").glob("*.py"):
        emitted |= set(re.findall(r'note\(\s*"([a-z0-9_]+)"', path.read_text()))
    assert emitted == declared, (sorted(emitted - declared), sorted(declared - emitted))
    for key in declared:
        assert {"en", "ko"} <= set(NOTES[key]), key


def test_the_kinds_table_does_not_repeat_a_rule():
    covered = set(REGISTRY) | {f for d in REGISTRY.values() for f in d.functional}
    assert not covered & set(kinds.OTHER_CATEGORY), sorted(covered & set(kinds.OTHER_CATEGORY))
    assert not covered & set(kinds.OTHER_SHORT), sorted(covered & set(kinds.OTHER_SHORT))


def test_rules_sharing_a_functional_name_agree():
    by_name: dict[str, set[tuple[str, str]]] = {}
    for d in REGISTRY.values():
        for f in d.functional:
            by_name.setdefault(f, set()).add((d.category.value, d.label))
    assert {f: v for f, v in by_name.items() if len(v) > 1} == {}


def test_op_rows_take_their_rules_category_and_label():
    assert kinds.category("max_pool2d") is REGISTRY["MaxPool2d"].category
    assert kinds.short("max_pool2d") == kinds.short("MaxPool2d") == "MaxPool"
    assert kinds.short("add") == "Add" and kinds.category("lstm") is None
