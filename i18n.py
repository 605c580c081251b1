"""The interface's language: gettext catalogs (locale/<lang>/LC_MESSAGES/pathway.mo), switched at run time.

Lesson and question text is bilingual data (content/); this is for the words the app itself says.
Strings are marked `_()` where they are shown, `N_()` where they are defined at import time
(binding descriptions, tables of names) and translated with `_()` where they are drawn.
The catalogs are made with Babel (`make i18n`); reading them needs only the stdlib.
"""

from __future__ import annotations

import gettext
import os
from functools import lru_cache
from pathlib import Path

DOMAIN = "pathway"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "zh")  # English is the source language: it has no catalog

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


@lru_cache(maxsize=None)
def translations(language: str) -> gettext.NullTranslations:
    """The catalog for `language`; English (or a missing catalog) gives the source strings back."""
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def set_language(language: str) -> None:
    """Make `language` ("en" or "zh") the one `_()` translates into from now on."""
    global _current, _language
    _language = language if language in LANGUAGES else "en"
    _current = translations(_language)


def current_language() -> str:
    return _language


def _(message: str) -> str:
    return _current.gettext(message)


def N_(message: str) -> str:
    """Marks a string for the catalog without translating it: `_()` translates it where it is drawn."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    """`ngettext` for a phrase whose English is the same in two places and whose translation is not."""
    return _current.npgettext(context, singular, plural, n)


def language_from_environment(environ=os.environ) -> str | None:
    """The language the locale variables ask for (LC_ALL, then LC_MESSAGES, then LANG), or None when unset or C/POSIX."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            if value in ("C", "POSIX") or value.startswith("C."):
                return None
            return "zh" if value.lower().startswith("zh") else "en"
    return None
