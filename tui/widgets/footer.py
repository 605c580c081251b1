"""A footer that never cuts a key in half: what does not fit is left out (Help, F1, lists it).

Binding descriptions are marked `N_()` where they are defined; they are translated here, as drawn.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from pathway.i18n import N_, _

HELP_ACTION = "help"  # kept whatever the width: it is where every left-out key is listed
PALETTE_CLASS = "-command-palette"
N_("palette")  # the description Textual gives the command-palette key: in the catalog, translated below


def key_width(key: FooterKey) -> int:
    """Cells a footer key takes in the default (not compact) style: ` key desc ` (the palette's: `▏key desc `)."""
    return cell_len(key.key_display) + 2 + (cell_len(key.description) + 1 if key.description else 0)


def fit_keys(keys: list[FooterKey], width: int) -> list[FooterKey]:
    """The keys to show in `width` cells: the palette and Help first, then the screen's keys in order while they fit."""
    kept = [k for k in keys if k.has_class(PALETTE_CLASS) or k.action.endswith(HELP_ACTION)]
    room = width - sum(key_width(k) for k in kept)
    for key in keys:
        if key in kept:
            continue
        if key_width(key) <= room:
            kept.append(key)
            room -= key_width(key)
    return [k for k in keys if k in kept]  # in the order Textual gave them


class FittedFooter(Footer):
    """Textual's footer, with the keys that would overflow the terminal width left out."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._fitted_width = 0

    def compose(self) -> ComposeResult:
        produced = list(super().compose())
        keys = [w for w in produced if isinstance(w, FooterKey)]
        for key in keys:
            key.description = _(key.description) if key.description else key.description
            if isinstance(key.tooltip, str):
                key.tooltip = _(key.tooltip)
        width = self.size.width or self.app.size.width
        self._fitted_width = width
        shown = set(map(id, fit_keys(keys, width)))
        kept = [w for w in produced if not isinstance(w, FooterKey) or id(w) in shown]
        yield from kept

    def on_resize(self) -> None:
        if self.size.width != self._fitted_width:
            self.call_after_refresh(self.recompose)
