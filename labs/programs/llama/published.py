"""The llama lab's model, handed to the other labs: one file under the home's cache.

    publish(model, args, tokenizer_path, report.cache_dir, report.run_id)   # end of a llama run
    found = load_published(report.cache_dir, device)                       # kv-cache: (Llama, ModelArgs, Tokenizer) or None

The file holds the weights, the shape and the tokenizer's own JSON text, so a
later bpe-tokenizer run that rewrites the shared tokenizer file cannot put the
model and its vocabulary out of step. It is written atomically: a reader sees
the previous model or the new one, never half of one.
"""

from __future__ import annotations

import dataclasses
import io
import tempfile
from pathlib import Path

import torch

from pathway.errors import PathwayError
from pathway.files import atomic_write
from pathway.labs.programs.llama.model import Llama, ModelArgs, load_weights

__all__ = ["published_path", "publish", "load_published"]


def published_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / "llama" / "latest.pt"


def publish(model: Llama, args: ModelArgs, tokenizer_path: Path, cache_dir: Path, run_id: int) -> Path:
    """Write the model for other labs; returns the file written."""
    state = {name: t.detach().to("cpu", torch.float32) for name, t in model.state_dict().items()}
    payload = {
        "format": 1,
        "run_id": int(run_id),
        "args": dataclasses.asdict(args),
        "state_dict": state,
        "tokenizer_json": Path(tokenizer_path).read_text(encoding="utf-8"),
        "tokenizer_path": str(tokenizer_path),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = published_path(cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buffer.getvalue())
    return path


def load_published(cache_dir: Path, device) -> tuple[Llama, ModelArgs, object] | None:
    """The latest published model (eval mode, on `device`), its shape and its tokenizer; None when none was published."""
    from pathway.labs.programs.bpe_tokenizer.bpe import Tokenizer

    path = published_path(cache_dir)
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)  # plain tensors, dicts and strings
        args = ModelArgs(**payload["args"])
    except Exception as exc:  # a truncated or foreign file: say which, and how to replace it
        raise PathwayError(f"{path} is not a model the llama lab published ({exc}). Run `pathway lab run llama` to publish a new one.") from None
    model = Llama(args)
    load_weights(model, payload["state_dict"], str(path))
    with tempfile.TemporaryDirectory() as tmp:  # Tokenizer.load reads a file; the JSON travels inside the model file
        tok_file = Path(tmp) / "tokenizer.json"
        tok_file.write_text(payload["tokenizer_json"], encoding="utf-8")
        tokenizer = Tokenizer.load(tok_file)
    return model.to(device).eval(), args, tokenizer
