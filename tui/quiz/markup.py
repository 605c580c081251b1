"""Inline Markdown in one-line texts (choices, order items, hints, explanations of options) as Rich markup.

Question files write choices with the same inline Markdown as prompts: `code`, **bold**,
*italic* or _italic_. A Static shows Rich markup, not Markdown, so the marks are turned
into markup here, and everything else is escaped (a `[` in a choice stays a `[`).

    inline("Use `x.view(-1)`, *not allowed* on **non-contiguous** tensors")
"""

from __future__ import annotations

import re

from textual.markup import escape

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
# A lone * or _ only opens emphasis at a word boundary: 2*3*4 and snake_case_names stay as they are.
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")


def _emphasis(text: str) -> str:
    text = _BOLD.sub(r"[b]\1[/b]", escape(text))
    text = _ITALIC_STAR.sub(r"[i]\1[/i]", text)
    return _ITALIC_UNDERSCORE.sub(r"[i]\1[/i]", text)


def inline(text: str) -> str:
    """Rich markup for a line of inline Markdown; `code` spans are kept verbatim, in bold accent."""
    parts: list[str] = []
    end = 0
    for match in _CODE.finditer(text):
        parts.append(_emphasis(text[end : match.start()]))
        parts.append(f"[b $accent]{escape(match.group(1))}[/]")
        end = match.end()
    parts.append(_emphasis(text[end:]))
    return "".join(parts)
