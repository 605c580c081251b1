"""A small SFT policy for the dpo and grpo tests, made in seconds and published like the sft lab's.

The sft lab's own run pretrains a base first (half a minute even when tiny);
here a one-layer llama learns 1-digit sums in the chat format straight away,
with the sft lab's batches and assistant-only loss. It ends partly right, so
its own samples hold right and wrong answers, which is all dpo and grpo need.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from pathway.labs.programs.llama.model import Llama, ModelArgs
from pathway.labs.programs.post_training.base import task_tokenizer
from pathway.labs.programs.post_training.chat import Chat
from pathway.labs.programs.post_training.checkpoint import Policy, publish_policy
from pathway.labs.programs.post_training.sampling import evaluate
from pathway.labs.programs.post_training.task import TaskSpec
from pathway.labs.programs.sft.train import assistant_loss, padded_batch

TASK = TaskSpec(digits=1, n_test=20, seed=0)


def publish_tiny_policy(cache_dir: Path, steps: int = 150, run_id: int = 7) -> Policy:
    """Train, publish into cache_dir (sft/latest.pt) and return the policy; its held-out exact match is in .metrics."""
    torch.set_num_threads(1)  # the labs' default: on 2 shared cores more threads only contend
    torch.manual_seed(0)
    chat = Chat(task_tokenizer(cache_dir, 257, log=lambda _: None))
    args = ModelArgs(vocab_size=chat.vocab_size, dim=32, n_layers=1, n_heads=4, n_kv_heads=2, ffn_hidden=96, max_seq_len=64)
    model = Llama(args)
    split = TASK.split()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = [split.train[i] for i in torch.randint(0, len(split.train), (32,), generator=gen).tolist()]
        x, y, w = padded_batch(chat, batch)
        loss = assistant_loss(model(x), y, w)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    result = evaluate(model, chat, split.test)
    policy = Policy(model=model, args=args, chat=chat, task=TASK, run_id=run_id,
                    metrics={"eval/exact_match": result.exact, "eval/format_rate": result.formatted})
    publish_policy(policy, cache_dir, run_id)
    return policy


@pytest.fixture(scope="module")
def trained_policy_cache(tmp_path_factory) -> Path:
    """Trained once per test module: a cache folder holding the published policy."""
    cache = tmp_path_factory.mktemp("sft") / "cache"
    publish_tiny_policy(cache)
    return cache


@pytest.fixture
def published(tmp_path, trained_policy_cache):
    """(cache, policy): this test's own copy of the cache (a test may publish over it), and the policy in it."""
    from pathway.labs.programs.post_training.checkpoint import load_policy

    cache = tmp_path / "cache"
    shutil.copytree(trained_policy_cache, cache)
    return cache, load_policy(cache, "cpu")
