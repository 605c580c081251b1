"""A braille-dot canvas: each terminal cell holds 2×4 dots, so a 60×12 chart has 120×48 points."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text

BRAILLE_BASE = 0x2800
# Bit of the dot at (row, column) inside one cell, as the Unicode braille block numbers them.
DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)


class BrailleCanvas:
    """Layers of dots; a cell takes the style of the highest layer that has a dot in it."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = max(width, 1), max(height, 1)
        self.layers: list[tuple[np.ndarray, Style]] = []

    @property
    def dots_x(self) -> int:
        return self.width * 2

    @property
    def dots_y(self) -> int:
        return self.height * 4

    def layer(self, style: Style) -> np.ndarray:
        bits = np.zeros((self.height, self.width), dtype=np.uint8)
        self.layers.append((bits, style))
        return bits

    def plot(self, style: Style, xs: np.ndarray, ys: np.ndarray) -> None:
        """Dots at integer dot coordinates (x right, y up); out-of-range dots are dropped."""
        xs = np.asarray(xs, dtype=np.int64)
        ys = np.asarray(ys, dtype=np.int64)
        keep = (xs >= 0) & (xs < self.dots_x) & (ys >= 0) & (ys < self.dots_y)
        xs, ys = xs[keep], ys[keep]
        rows_from_top = self.dots_y - 1 - ys
        bits = self.layer(style)
        np.bitwise_or.at(bits, (rows_from_top // 4, xs // 2), DOT_BITS[rows_from_top % 4, xs % 2])

    def vertical_spans(self, style: Style, xs: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> None:
        """A vertical run of dots per x from low to high (inclusive): how min–max buckets are drawn."""
        xs = np.asarray(xs, dtype=np.int64)
        lows = np.clip(np.asarray(lows, dtype=np.int64), 0, self.dots_y - 1)
        highs = np.clip(np.asarray(highs, dtype=np.int64), 0, self.dots_y - 1)
        lengths = np.maximum(highs - lows + 1, 0)
        all_x = np.repeat(xs, lengths)
        starts = np.repeat(lows - np.cumsum(lengths) + lengths, lengths)
        all_y = starts + np.arange(lengths.sum())
        self.plot(style, all_x, all_y)

    def lines(self) -> list[Text]:
        combined = np.zeros((self.height, self.width), dtype=np.uint8)
        owner = np.full((self.height, self.width), -1, dtype=np.int64)
        for index, (bits, _style) in enumerate(self.layers):
            combined |= bits
            owner[bits > 0] = index
        out: list[Text] = []
        for row in range(self.height):
            text = Text()
            for col in range(self.width):
                code = int(combined[row, col])
                style = self.layers[owner[row, col]][1] if owner[row, col] >= 0 else Style()
                text.append(chr(BRAILLE_BASE + code) if code else " ", style)
            out.append(text)
        return out
