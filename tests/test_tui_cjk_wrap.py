"""Chinese text wraps between characters (tui/cjk_wrap.py); English wraps exactly as Textual wraps it."""

from __future__ import annotations

import re

import pytest
import rich._wrap
import textual._wrap
from rich.cells import cell_len

from pathway.tui import cjk_wrap

TEXTUAL_CHUNK = re.compile(r"\S+\s*|\s+")  # textual._wrap.re_chunk as Textual ships it
RICH_WORD = re.compile(r"\s*\S+\s*")  # rich._wrap.re_word as Rich ships it


def textual_lines(text: str, width: int) -> list[str]:
    offsets = textual._wrap.compute_wrap_offsets(text, width, tab_size=4)
    edges = [0, *offsets, len(text)]
    return [text[a:b] for a, b in zip(edges, edges[1:])]


def rich_lines(text: str, width: int) -> list[str]:  # what Textual's Content (Static, Markdown) uses
    offsets = rich._wrap.divide_line(text, width)
    edges = [0, *offsets, len(text)]
    return [text[a:b] for a, b in zip(edges, edges[1:])]


@pytest.mark.parametrize("lines", [textual_lines, rich_lines])
def test_a_chinese_paragraph_fills_its_lines(lines) -> None:
    cjk_wrap.install()
    text = "这一课的内容你在 Spark 里其实早就学过，只是换了个名字。普通的 Python UDF 之所以慢，是因为每一行数据都要序列化。"
    wrapped = lines(text, 20)
    assert "".join(wrapped) == text
    assert all(cell_len(line.rstrip()) <= 20 for line in wrapped)
    assert all(cell_len(line) >= 16 for line in wrapped[:-1]), wrapped  # no half-empty lines before a clause
    assert not any(line[0] in cjk_wrap.CLOSING for line in wrapped), wrapped  # no line starts with ，or 。


def test_english_is_split_as_textual_splits_it() -> None:
    text = "A plain Python UDF is slow because rows are serialized out of the JVM to a Python worker, one at a time."
    assert [m.group(0) for m in cjk_wrap.CHUNK.finditer(text)] == [m.group(0) for m in TEXTUAL_CHUNK.finditer(text)]
    assert [m.group(0) for m in cjk_wrap.WORD.finditer(text)] == [m.group(0) for m in RICH_WORD.finditer(text)]
