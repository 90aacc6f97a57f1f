"""The page's words and the presets' titles are in the one text table (core/words_ui.py,
merged into core/words.py), served to the page as /words.js (issue 13): both languages for
every word, the same placeholders, every word the page's scripts ask for, and the page
showing them."""

from __future__ import annotations

import json
import pathlib
import re
import string

from shapetrace.core import words, words_ui
from shapetrace.core.spec import load_spec
from shapetrace.web import presets
from shapetrace.web.app import STATIC, _script_value
from shapetrace.web.schema import block_table

from .conftest import EXAMPLES
from .test_browser import edit, open_page

PREFIX = "window.shapetraceUI = "
CALL = re.compile(r'\bt\("(\w+)"')  # state.js's t(key, ...args): every word the modules use
I18N = re.compile(r'data-i18n="(\w+)"')  # index.html's words, filled by app.js
CONV = re.compile(r"\bwords\.(?!js\b)(\w+)")  # convpic.js reads t("conv") as `words`
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def fields(text: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]


def js_fields(text: str) -> set[str]:
    """The placeholders the page's words.js finds (its /\\{(\\w+)\\}/)."""
    return set(re.findall(r"\{(\w+)\}", text))


def has_word(word: str) -> bool:
    """``word`` is in the page's table: itself, a plural (.one/.other) or a group (conv.*)."""
    return word in words_ui.PAGE or any(k.startswith(word + ".") for k in words_ui.PAGE)


def test_every_word_has_english_and_korean_text():
    for key, texts in words_ui.TABLE.items():
        assert set(texts) == {lang.value for lang in words.Lang}, key
        assert all(isinstance(s, str) and s.strip() for s in texts.values()), key


def test_both_languages_use_the_same_placeholders_the_page_can_fill():
    for key, texts in words_ui.TABLE.items():
        en, ko = fields(texts["en"]), fields(texts["ko"])
        assert set(en) == set(ko), key
        # named, no format spec, no literal braces: what Python's format and the page's
        # filler read the same way
        assert all(f.isidentifier() for f in en + ko), key
        for s in texts.values():
            assert js_fields(s) == set(fields(s)), (key, s)
            assert "{{" not in s and "}}" not in s, (key, s)


def test_a_plural_has_both_forms_and_a_count():
    plurals = {k.rsplit(".", 1)[0] for k in words_ui.PAGE if k.endswith((".one", ".other"))}
    assert {"moreArgs", "inside"} <= plurals
    for word in plurals:
        one, other = words_ui.PAGE[f"{word}.one"], words_ui.PAGE[f"{word}.other"]
        assert fields(one["en"])[0] == fields(other["en"])[0] == "n", word
        assert set(fields(one["en"])) == set(fields(other["en"])), word


def test_the_one_table_holds_the_pages_words_and_the_presets_titles():
    assert words.text("page.subtitle", "ko") == "레이어 계산기"
    assert words.text("page.moreArgs.other", "en", n=3) == "3 more arguments"
    assert words.text("page.rfTitle", "en", size="3", jump="1", start="0") == "size 3, jump 1, start 0"
    assert words.text("preset.seed", "en").startswith("Seed")
    for key, texts in words_ui.TABLE.items():
        assert {lang: words.TEXT[key][lang] for lang in words.Lang} == {words.Lang(k): v for k, v in texts.items()}


def test_serverdown_is_defined_once():
    """It was written twice in each language of words.js (the second one won)."""
    src = pathlib.Path(words_ui.__file__).read_text(encoding="utf-8")
    assert src.count('"serverDown":') == 1


def test_every_word_the_page_uses_is_in_the_table():
    scripts = {p.name: p.read_text(encoding="utf-8") for p in STATIC.glob("*.js")}
    used = {name: set(CALL.findall(js)) for name, js in scripts.items()}
    assert used["editor.js"] and used["results.js"] and used["share.js"] and used["app.js"]
    used["index.html"] = set(I18N.findall((STATIC / "index.html").read_text(encoding="utf-8")))
    # t(sec) for each section of a Residual card (editor.js)
    residual = next(b for b in block_table() if b["type"] == "Residual")
    used["editor.js"] |= {f["key"] for f in residual["fields"]}
    for name, keys in used.items():
        missing = {k for k in keys if not has_word(k)}
        assert not missing, f"{name} asks for words not in core/words_ui.py: {sorted(missing)}"
    conv = {k.split(".", 1)[1] for k in words_ui.PAGE if k.startswith("conv.")}
    missing = set(CONV.findall(scripts["convpic.js"])) - conv
    assert not missing, f"convpic.js reads conv words not in the table: {sorted(missing)}"
    toggle = set(re.findall(r"\bw\.(\w+)", scripts["symbolic.js"]))  # the formula toggle's UI[lang()]
    assert toggle == {"formulas", "formulasTitle"}
    assert all(has_word(k) for k in toggle)


def test_no_page_script_keeps_its_own_words():
    """The words are the server's: no Korean text left in the page's scripts or HTML (but the
    language button's own name, the same in either language)."""
    for p in [*STATIC.glob("*.js"), STATIC / "index.html"]:
        found = HANGUL.findall(p.read_text(encoding="utf-8").replace(">한국어<", "><"))
        assert not found, f"{p.name} holds Korean text: {''.join(found[:20])}"


def test_words_js_is_served_as_a_script_with_the_table(client):
    r = client.get("/words.js")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    text = r.text.strip()
    assert text.startswith(PREFIX) and text.endswith(";")
    assert json.loads(text[len(PREFIX):-1]) == words_ui.page_words()
    assert set(words_ui.page_words()) == {"en", "ko"}
    assert "<" not in r.text and "<" not in client.get("/blocks.js").text


def test_a_served_script_cannot_close_a_script_tag():
    value = {"a": "</script><script>alert(1)</script>", "b": ["<!--", "&amp;", "x > y"]}
    js = _script_value("shapetraceX", value)
    assert js.startswith("window.shapetraceX = ") and js.endswith(";\n")
    assert not set("<>&") & set(js)
    assert json.loads(js[len("window.shapetraceX = "):-2]) == value


def test_presets_are_titled_from_the_table(client, monkeypatch):
    listed = {p["id"]: p for p in client.get("/api/presets").json()}
    for pid in words_ui.PRESETS:
        assert listed[pid]["title"] == words.text(f"preset.{pid}", "en")
        assert listed[pid]["titles"] == {"en": words.text(f"preset.{pid}", "en"),
                                         "ko": words.text(f"preset.{pid}", "ko")}
    # a change in the table is the title; a preset without an entry has its spec's name
    monkeypatch.setitem(words.TEXT, "preset.resnet18", {words.Lang.EN: "R-18", words.Lang.KO: "알-18"})
    monkeypatch.delitem(words.TEXT, "preset.vgg16")
    presets.list_presets.cache_clear()
    try:
        got = {p["id"]: p for p in presets.list_presets()}
    finally:
        monkeypatch.undo()
        presets.list_presets.cache_clear()
    assert got["resnet18"]["title"] == "R-18" and got["resnet18"]["titles"] == {"en": "R-18", "ko": "알-18"}
    name = load_spec(EXAMPLES / "vgg16.yaml").name
    assert got["vgg16"]["title"] == name and got["vgg16"]["titles"] == {"en": name, "ko": name}
    assert name != words.text("preset.vgg16", "en")


def test_the_page_shows_the_served_words_in_korean(page, live_server):
    open_page(page, live_server.url)
    ui = page.evaluate("() => window.shapetraceUI")
    assert ui == words_ui.page_words()
    # the functions the page calls are made from the served strings
    made = page.evaluate("""() => { const U = window.shapetraceWords.UI;
        return [U.en.moreArgs(1), U.en.moreArgs(4), U.ko.inside(2), U.en.rfTitle("3×3", "2×2", "0, 0"),
                U.ko.badLink("x"), U.ko.conv.input, typeof U.en.conv]; }""")
    assert made == ["1 more argument", "4 more arguments", "안에 레이어 2개", "size 3×3, jump 2×2, start 0, 0",
                    words.text("page.badLink", "ko", why="x"), "입력", "object"]

    assert edit(page, lambda: page.select_option("#preset", "resnet18")) == "ok"
    edit(page, lambda: page.click('#lang-toggle button[data-lang="ko"]'))
    assert page.inner_text("h1 .sub") == "레이어 계산기"
    assert page.inner_text("#results-title") == words.text("page.flow", "ko")
    notes = page.locator("#stack-root .collapsed-note").all_inner_texts()
    assert len(notes) == 4 and all(re.fullmatch(r"안에 레이어 \d+개", s) for s in notes), notes
    more = page.locator("#stack-root button.more-args").first.inner_text()
    n = int(re.search(r"\d+", more).group())
    assert more == words.text("page.moreArgs.other", "ko", n=n)
    option = page.locator('#preset option[value="resnet18"]').inner_text()
    assert option == words.text("preset.resnet18", "ko")
    assert page.locator('#preset option[value="seed"]').inner_text() == words.text("preset.seed", "ko")
    edit(page, lambda: page.click('#lang-toggle button[data-lang="en"]'))
    more = page.locator("#stack-root button.more-args").first.inner_text()
    assert more == words.text(f"page.moreArgs.{'one' if n == 1 else 'other'}", "en", n=n)
