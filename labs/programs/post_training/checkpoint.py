"""The SFT model, handed to the dpo and grpo labs: `cache/sft/latest.pt`, written atomically.

    publish_policy(policy, report.cache_dir, report.run_id)         # end of an sft run
    policy = load_policy(report.cache_dir, device)                  # Policy or None when no sft run has published
    policy = policy_or_sft(report.cache_dir, device, report.log_text)   # ... else a short SFT run now, said in the log

The file holds the weights (LoRA already merged: a plain llama), the shape, the
tokenizer with its chat tokens, the task's settings (so every lab uses the same
train/test split) and the run's final metrics (dpo and grpo print "SFT reached
x%" next to their own figures).
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from pathway.errors import PathwayError
from pathway.files import atomic_write
from pathway.labs.programs.llama.model import Llama, ModelArgs, load_weights
from pathway.labs.programs.post_training.chat import Chat
from pathway.labs.programs.post_training.task import TaskSpec

__all__ = ["Policy", "policy_path", "publish_policy", "load_policy", "policy_or_sft", "FORMAT"]

FORMAT = "pathway-sft/1"


@dataclass
class Policy:
    model: Llama
    args: ModelArgs
    chat: Chat
    task: TaskSpec
    run_id: int = 0
    metrics: dict = field(default_factory=dict)  # the SFT run's final metrics: eval/exact_match, eval/format_rate, ...
    where: str = ""


def policy_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / "sft" / "latest.pt"


def publish_policy(policy: Policy, cache_dir: Path, run_id: int) -> Path:
    """Write the policy for the other labs; a reader sees the previous file or this one, never half of one."""
    payload = {
        "format": FORMAT,
        "run_id": int(run_id),
        "args": dataclasses.asdict(policy.args),
        "state_dict": {name: t.detach().to("cpu", torch.float32) for name, t in policy.model.state_dict().items()},
        "tokenizer": policy.chat.to_json(),
        "task": policy.task.to_dict(),
        "metrics": {k: float(v) for k, v in policy.metrics.items()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = policy_path(cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buffer.getvalue())
    return path


def load_policy(cache_dir: Path, device) -> Policy | None:
    """The last published SFT policy (eval mode, on `device`), or None when no sft run has published one."""
    path = policy_path(cache_dir)
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != FORMAT:
            raise ValueError(f"format is {payload.get('format')!r}, not {FORMAT!r}")
        args = ModelArgs(**payload["args"])
        chat = Chat.from_json(payload["tokenizer"])
        task = TaskSpec(**payload["task"])
    except Exception as exc:  # a truncated or foreign file: say which, and how to replace it
        raise PathwayError(f"{path} is not a model the sft lab published ({exc}). Run `pathway lab run sft` to publish a new one.") from None
    if args.vocab_size != chat.vocab_size:
        raise PathwayError(f"{path}: the model has {args.vocab_size} embedding rows but its tokenizer {chat.vocab_size} ids. "
                           "Run `pathway lab run sft` to publish a matching pair.")
    model = Llama(args)
    load_weights(model, payload["state_dict"], str(path))
    return Policy(model=model.to(device).eval(), args=args, chat=chat, task=task, run_id=int(payload["run_id"]),
                  metrics=dict(payload.get("metrics", {})), where=f"the sft lab's model from run {payload['run_id']} ({path})")


def policy_or_sft(cache_dir: Path, device, log: Callable[[str], None], *, overrides: dict | None = None,
                  should_stop: Callable[[], bool] = lambda: False) -> Policy:
    """The published SFT policy; when there is none, a short SFT run now with the sft lab's defaults (and `overrides`)."""
    found = load_policy(cache_dir, device)
    if found is not None:
        return found
    from pathway.labs.programs.sft.train import run_sft

    log("No sft run has published a model yet (`pathway lab run sft` does), so this run fine-tunes one first "
        "with the sft lab's default settings (a few minutes on 2 CPU cores); it is published for the next run.")
    policy, _ = run_sft(overrides or {}, cache_dir, device, log, should_stop=should_stop)
    return policy
