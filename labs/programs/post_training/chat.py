"""The chat template: special tokens for each role, a conversation rendered to ids with the loss mask.

    chat = Chat(tokenizer)                       # the lab's BPE tokenizer + <|system|> <|user|> <|assistant|> <|end|>
    ids, mask = chat.render("47+85", "132")      # one training example
    prompt = chat.prompt("47+85")                # what generation starts from: ends with <|assistant|>
    chat.completion_text(new_ids)                # "132": the new tokens up to <|end|>, decoded

One example reads, as tokens:

    <|system|>Add or subtract.<|end|><|user|>47+85<|end|><|assistant|>132<|end|>
    ^--------------------- prompt: mask False ------------------------^^-- True --^

The loss mask is True on the assistant's tokens and its closing <|end|> (the
model must learn to stop), False on the system and user text and on the
<|assistant|> tag itself: those are given at inference, so learning to predict
them spends capacity on text the model never has to write. Each special token
is one id that no merge of ordinary text produces. The tokenizer still maps the
literal string "<|end|>" in a message to that id, so a chat server must escape
it in user text, or a user could close their own turn.

Digits are encoded one at a time (LLaMA's tokenizer splits every number into
digits): a byte-level BPE trained on code merges "12" and "100" but not "437",
so without the split the same digit would be a different token depending on its
neighbours, and carrying would have to be learned once per merge. (With the
byte-level tokenizer of the default base every digit is a byte anyway.)
"""

from __future__ import annotations

import re

from pathway.errors import PathwayError

__all__ = ["Chat", "SYSTEM", "USER", "ASSISTANT", "END", "CHAT_TOKENS", "SYSTEM_PROMPT"]

SYSTEM, USER, ASSISTANT, END = "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"
CHAT_TOKENS = (SYSTEM, USER, ASSISTANT, END)
SYSTEM_PROMPT = "Add or subtract."
DIGIT = re.compile(r"(\d)")


class Chat:
    """The tokenizer with the chat tokens, and the template that uses them."""

    def __init__(self, tokenizer) -> None:
        from pathway.labs.programs.bpe_tokenizer.bpe import Tokenizer

        missing = [t for t in CHAT_TOKENS if t not in tokenizer.special_ids]
        if missing:  # new ids after the last one: a model trained without them needs new embedding rows (base.py)
            tokenizer = Tokenizer(tokenizer.vocab, tokenizer.merges, [*tokenizer.special_tokens, *missing])
        self.tokenizer = tokenizer
        self.ids = {t: tokenizer.special_ids[t] for t in CHAT_TOKENS}
        self.end_id = self.ids[END]
        self.pad_id = self.end_id  # padding is masked out of attention and loss; its id never matters

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def encode(self, text: str) -> list[int]:
        """Ordinary text, each digit its own token."""
        out: list[int] = []
        for part in DIGIT.split(text):
            if part:
                out.extend(self.tokenizer.encode(part))
        return out

    def prompt(self, question: str) -> list[int]:
        """System and user turns, then the assistant tag: the model's turn starts after it."""
        ids = self.ids
        return [ids[SYSTEM], *self.encode(SYSTEM_PROMPT), ids[END],
                ids[USER], *self.encode(question), ids[END], ids[ASSISTANT]]

    def render(self, question: str, answer: str) -> tuple[list[int], list[bool]]:
        """(ids, mask) of a whole exchange; mask[i] says whether ids[i] is the assistant's (trained on)."""
        prompt = self.prompt(question)
        reply = [*self.encode(answer), self.end_id]
        return prompt + reply, [False] * len(prompt) + [True] * len(reply)

    def completion_text(self, new_ids: list[int]) -> str:
        """The assistant's reply: new tokens up to (not including) the first <|end|>, decoded."""
        if self.end_id in new_ids:
            new_ids = new_ids[:new_ids.index(self.end_id)]
        return self.tokenizer.decode(new_ids)

    def to_json(self) -> dict:
        return self.tokenizer.to_json()

    @classmethod
    def from_json(cls, data: dict) -> "Chat":
        import json
        import tempfile
        from pathlib import Path

        from pathway.labs.programs.bpe_tokenizer.bpe import Tokenizer

        with tempfile.TemporaryDirectory() as tmp:  # Tokenizer.load reads a file
            path = Path(tmp) / "tokenizer.json"
            path.write_text(json.dumps(data), encoding="utf-8")
            tok = Tokenizer.load(path)
        chat = cls(tok)
        if chat.vocab_size != tok.vocab_size:
            raise PathwayError("a saved chat tokenizer lacks the chat tokens; it was not saved by a post-training lab.")
        return chat
