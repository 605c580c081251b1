"""Line breaking for Chinese text: between any two ideographs, not only at spaces.

Rich and Textual wrap at whitespace (`rich._wrap.re_word`, which Textual's Content uses, and
`textual._wrap.re_chunk`: a "word" is a run of non-spaces). Chinese
has no spaces between words, so a whole clause is one "word" and moves to the next line in one
piece, leaving the line before it half empty. Unicode's line-breaking rules (UAX #14,
https://www.unicode.org/reports/tr14/) let a line break before any ideograph, and not before
closing punctuation. Here each CJK character, with the closing punctuation after it, is a word of
its own. Text without CJK characters is split exactly as before.
"""

from __future__ import annotations

import re

import rich._wrap
import textual._wrap

CJK = "\u2e80-\u2fff\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
CLOSING = "，。、；：！？）》」』】〉”’…"  # never the first character of a line
CHUNK = re.compile(rf"[{CJK}][{CLOSING}]*\s*|[^\s{CJK}]+\s*|\s+")  # textual: r"\S+\s*|\s+"
WORD = re.compile(rf"\s*(?:[{CJK}][{CLOSING}]*|[^\s{CJK}]+)\s*")  # rich: r"\s*\S+\s*"


def install() -> None:
    """Make Rich's and Textual's wrapping break Chinese text between characters (idempotent)."""
    rich._wrap.re_word = WORD
    textual._wrap.re_chunk = CHUNK
