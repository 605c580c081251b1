"""The interface's Chinese catalog: complete, translated, compiled, and read the way the app reads it.

When a test here fails after new strings were marked (`_()`, `N_()`, `ngettext()`): run `make i18n`,
fill the new `msgstr` entries in locale/zh/LC_MESSAGES/pathway.po, and run `make i18n` again to
compile the .mo.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from pathway import i18n

REPO = Path(__file__).parent.parent
PO = REPO / "locale" / "zh" / "LC_MESSAGES" / "pathway.po"
MO = PO.with_suffix(".mo")
HOW_TO_FIX = "run `make i18n`, fill their msgstr in locale/zh/LC_MESSAGES/pathway.po, then `make i18n` again"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def chinese_catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="zh")


def msgid(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def marked_strings() -> set[tuple[str | None, str]]:
    """(context, msgid) of every marked string in tui/ and cli/, extracted by Babel as `make i18n` does."""
    found = set()
    for folder in ("tui", "cli"):
        keywords = {"_": None, "N_": None, "ngettext": (1, 2), "npgettext": ((1, "c"), 2, 3)}
        for _filename, _lineno, message, _comments, context in extract_from_dir(
            REPO / folder, method_map=[("**.py", "python")], keywords=keywords
        ):
            found.add((context, message if isinstance(message, str) else message[0]))
    return found


def test_every_marked_string_is_in_the_chinese_catalog() -> None:
    catalog = chinese_catalog()
    known = {(m.context, msgid(m)) for m in catalog if m.id}
    missing = sorted(marked_strings() - known, key=lambda cm: cm[1])
    listing = "\n".join(f"  {text!r}" + (f" (context {context!r})" if context else "") for context, text in missing)
    assert not missing, f"{len(missing)} interface strings are not in the Chinese catalog; {HOW_TO_FIX}:\n{listing}"


def test_the_chinese_catalog_has_no_untranslated_or_fuzzy_entry() -> None:
    untranslated = []
    for message in chinese_catalog():
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy or not all(strings):
            untranslated.append(msgid(message) + ("  (fuzzy)" if message.fuzzy else ""))
    listing = "\n".join(f"  {text!r}" for text in untranslated)
    assert not untranslated, f"{len(untranslated)} entries are untranslated or fuzzy; {HOW_TO_FIX}:\n{listing}"


def test_translations_keep_the_placeholders_and_markup() -> None:
    """`{n}` and `[b]…[/b]` must survive translation: `.format()` and Rich markup read them."""
    wrong = []
    for message in chinese_catalog():
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for string in strings:
            for pattern in (PLACEHOLDER, re.compile(r"\[/?[a-z $]*\]")):
                if sorted(pattern.findall(msgid(message))) != sorted(pattern.findall(string)):
                    wrong.append((msgid(message), string))
    assert not wrong, "translations that lose or add a placeholder or markup tag:\n" + "\n".join(map(repr, wrong))


def test_the_committed_mo_is_the_compiled_po() -> None:
    """The app reads the .mo (stdlib gettext, no Babel at run time): it must be this .po compiled."""
    compiled = io.BytesIO()
    write_mo(compiled, chinese_catalog())
    assert MO.read_bytes() == compiled.getvalue(), "locale/zh/LC_MESSAGES/pathway.mo is stale: run `make i18n`"


def test_the_app_reads_the_catalog_with_the_stdlib() -> None:
    try:
        i18n.set_language("zh")
        assert i18n._("Continue") == "继续"
        assert i18n.ngettext("{n} lapse", "{n} lapses", 3).format(n=3) == "遗忘 3 次"
        assert i18n.npgettext("cards due", "{n} review", "{n} reviews", 2).format(n=2) == "2 道复习"
        i18n.set_language("en")
        assert i18n._("Continue") == "Continue"
        assert i18n.ngettext("{n} lapse", "{n} lapses", 1).format(n=1) == "1 lapse"
    finally:
        i18n.set_language("en")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "", "LC_MESSAGES": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, None),
        ({"LC_ALL": "POSIX"}, None),
        ({}, None),
    ],
)
def test_the_language_the_locale_variables_ask_for(environ: dict, expected: str | None) -> None:
    assert i18n.language_from_environment(environ) == expected


# Calls whose text argument reaches the screen: it must be marked (`_()` at the call, or `N_()`
# for a binding's description and tooltip, translated by the footer and Help).
SHOWN_ARGUMENT = {"notify": 0, "Static": 0, "Label": 0, "Button": 0, "ConfirmScreen": 0, "PickScreen": 0}


def unmarked_literals(path: Path) -> list[str]:
    problems = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        shown: list[ast.expr] = []
        if name in SHOWN_ARGUMENT and len(node.args) > SHOWN_ARGUMENT[name]:
            shown.append(node.args[SHOWN_ARGUMENT[name]])
        if name == "Binding":
            shown += node.args[2:3] + [k.value for k in node.keywords if k.arg in ("description", "tooltip")]
        shown += [k.value for k in node.keywords if k.arg in ("title", "placeholder")]
        for arg in shown:
            words = isinstance(arg, ast.JoinedStr) or (isinstance(arg, ast.Constant) and isinstance(arg.value, str))
            text = ast.unparse(arg)
            if words and re.search(r"[A-Za-z]{3,}", re.sub(r"\[/?[a-z $]*\]|\{[^}]*\}", "", text)):
                problems.append(f"{path.relative_to(REPO)}:{node.lineno}: {text[:70]}")
    return problems


KEPT_ENGLISH = {"pathway", "$EDITOR"}  # the brand and an environment variable, drawn as they are


def test_no_unmarked_english_reaches_the_screen_from_tui() -> None:
    """The catalog test sees only marked strings: this one catches text handed to the screen unmarked."""
    problems = [
        problem
        for path in sorted((REPO / "tui").rglob("*.py"))
        for problem in unmarked_literals(path)
        if problem.split(": ", 1)[1].strip("'\"") not in KEPT_ENGLISH
    ]
    assert not problems, "unmarked English handed to the screen (wrap it in _() or N_()):\n" + "\n".join(problems)
