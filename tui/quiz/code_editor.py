"""The code exercise's editor: Textual's TextArea without the keys that belong to the app."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea

# TextArea binds F6 to "select line", but F2-F6 switch modes everywhere else (the tabs say
# so): inside the editor F6 would select a line instead of opening Progress.
APP_KEYS_ACTIONS = {"select_line"}


class CodeEditor(TextArea):
    """A Python editor whose F6 reaches the app and whose Esc hands the keys back to the card."""

    @dataclass
    class Left(Message):
        """Esc in the editor: the learner is done typing (TextArea would move focus to the next widget)."""

        editor: "CodeEditor"

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in APP_KEYS_ACTIONS:
            return False  # a disabled action lets the key fall through to the app's binding
        return super().check_action(action, parameters)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            event.prevent_default()
            self.post_message(self.Left(self))
            return
        await super()._on_key(event)
