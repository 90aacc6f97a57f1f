"""The page's scripts as files: every module the page imports exists and exports what is
imported from it, none computes a shape or writes HTML, none is over 500 lines (issue 12,
item 3: app.js was 1,140 lines). What they do is pinned by the browser tests."""

from __future__ import annotations

import re

from shapetrace.web.app import STATIC

IMPORT = re.compile(r'^import \{([^}]*)\} from "\./([\w.-]+\.js)";', re.M)
EXPORT = re.compile(r"^export \{([^}]*)\};", re.M)


def _names(text: str) -> set[str]:
    return {n.strip() for n in text.split(",") if n.strip()}


def _modules() -> dict[str, str]:
    """The page's ES modules: app.js and everything it imports, transitively."""
    found: dict[str, str] = {}
    todo = ["app.js"]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found[name] = (STATIC / name).read_text(encoding="utf-8")
        todo += [m.group(2) for m in IMPORT.finditer(found[name])]
    return found


def test_the_page_loads_its_modules_from_app_js():
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    assert '<script type="module" src="/static/app.js"></script>' in html
    modules = _modules()
    assert {"app.js", "state.js", "api.js", "dom.js", "editor.js", "results.js", "share.js"} <= set(modules)
    for name, text in modules.items():
        for m in IMPORT.finditer(text):
            exported = EXPORT.search(modules[m.group(2)])
            assert exported, f"{m.group(2)} exports nothing"
            missing = _names(m.group(1)) - _names(exported.group(1))
            assert not missing, f"{name} imports {missing} that {m.group(2)} does not export"


def test_no_page_script_computes_or_writes_html():
    """One source of truth (no floor, no arithmetic on sizes: every number comes from the
    server) and no HTML parsing of text, in every script the page runs."""
    scripts = {p.name: p.read_text(encoding="utf-8") for p in STATIC.glob("*.js")}
    assert "app.js" in scripts and len(scripts) >= 8
    for name, js in scripts.items():
        for banned in ("eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML",
                       "document.write"):
            assert banned not in js, (name, banned)
        if name == "convpic.js":
            continue  # the conv picture lays out a grid from the server's numbers
        for banned in ("Math.floor", "Math.ceil", "dilation *", "kernel_size -", "output_shapes.map",
                       "input_shapes.map", "note.params"):
            assert banned not in js, (name, banned)


def test_no_page_script_is_over_500_lines():
    for p in STATIC.glob("*.js"):
        n = len(p.read_text(encoding="utf-8").splitlines())
        assert n <= 500, f"{p.name} has {n} lines"
