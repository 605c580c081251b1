"""The text-generation lab: attention equals PyTorch's, the seed's head split does not, the model learns.

The attention checks use B, T, H > 1 and T != head size: with T == d or H == 1
some wrong head splits pass by accident.
"""

from __future__ import annotations

import math
import sysconfig
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from lab_helpers import run_to_the_end

from pathway.errors import PathwayError
from pathway.labs import catalog
from pathway.labs.programs.char_transformer import train as ct
from pathway.labs.programs.char_transformer.corpus import CharTokenizer, is_held_out, load_corpus, stdlib_files
from pathway.labs.engine.local_report import LocalReport

REPO = Path(__file__).resolve().parent.parent
B, T, C, H = 2, 5, 24, 3  # head size d = 8 != T
D = C // H


class SeedMultiHeadAttention(nn.Module):
    """The seed's attention, kept to show it failing: heads split with view(-1, num_heads, d_k), no transpose.

    Each (batch, position) row becomes its own "sequence" of H heads, so every token attends over its
    own heads and never sees another position. It runs without an error.
    """

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads, self.d_k = num_heads, d_model // num_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, d_model = x.shape
        q, k, v = self.c_attn(x).split(d_model, dim=2)
        q = q.view(-1, self.num_heads, self.d_k)  # (B*T, H, d_k): the bug
        k = k.view(-1, self.num_heads, self.d_k)
        v = v.view(-1, self.num_heads, self.d_k)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_k)
        out = torch.softmax(scores, dim=-1) @ v
        return self.c_proj(out.reshape(batch, seq, d_model))


def reference_attention(x: torch.Tensor, c_attn: nn.Linear, c_proj: nn.Linear) -> torch.Tensor:
    """Built independently of the module: slice each head's columns in a loop, let PyTorch attend, concatenate."""
    q, k, v = c_attn(x).split(C, dim=2)
    heads = lambda t: torch.stack([t[:, :, h * D:(h + 1) * D] for h in range(H)], dim=1)  # (B, H, T, d)
    y = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
    return c_proj(torch.cat([y[:, h] for h in range(H)], dim=-1))


@pytest.fixture
def x() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(B, T, C)


@pytest.mark.parametrize("fused", [False, True], ids=["manual", "sdpa"])
def test_attention_equals_scaled_dot_product_attention(x, fused):
    attn = ct.MultiHeadAttention(C, H, block_size=16, fused=fused).eval()
    with torch.no_grad():
        ours, ref = attn(x), reference_attention(x, attn.c_attn, attn.c_proj)
    assert ours.shape == (B, T, C)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_attention_is_causal_and_uses_context(x):
    attn = ct.MultiHeadAttention(C, H, block_size=16, fused=False).eval()
    changed = x.clone()
    changed[:, 3] += 1.0  # change position 3 only
    with torch.no_grad():
        a, b = attn(x), attn(changed)
    torch.testing.assert_close(a[:, :3], b[:, :3])  # the past does not see the future
    assert not torch.allclose(a[:, 4], b[:, 4])  # a later position does see it


def test_seed_view_split_fails_the_same_check(x):
    seed = SeedMultiHeadAttention(C, H).eval()
    with torch.no_grad():
        out, ref = seed(x), reference_attention(x, seed.c_attn, seed.c_proj)
        changed = x.clone()
        changed[:, 0] += 1.0
        later = seed(changed)
    assert out.shape == ref.shape  # right shape, no error ...
    assert not torch.allclose(out, ref, atol=1e-3)  # ... wrong numbers
    torch.testing.assert_close(out[:, -1], later[:, -1])  # the last token never saw the first: no context at all


def test_lesson_shows_the_view_split_failing():
    lesson = (REPO / "content" / "lessons" / "week10" / "01-attention.md").read_text()
    assert "t.view(-1, H, d)" in lesson and "def mha_heads_as_sequence" in lesson
    assert "assert not torch.allclose(out, reference, atol=1e-3)" in lesson  # run by test_lesson_code.py
    assert "B, T, H > 1" in lesson and "T ≠ d" in lesson


def small_config(**overrides) -> ct.Config:
    values = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 16, "batch_size": 8}
    values.update(overrides)
    return catalog.build_config("char-transformer", values, cuda=False)


def test_hf_backend_is_the_same_model():
    config = small_config()
    ours, theirs = ct.build_model(config, 98).eval(), ct.build_model(small_config(backend="hf"), 98).eval()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    hf = theirs.hf
    with torch.no_grad():  # copy our weights in (GPT-2's Conv1D stores (in, out)): the logits must match
        hf.transformer.wte.weight.copy_(ours.wte.weight)
        hf.transformer.wpe.weight.copy_(ours.wpe.weight)
        for hb, b in zip(hf.transformer.h, ours.blocks):
            hb.ln_1.load_state_dict(b.ln_1.state_dict())
            hb.ln_2.load_state_dict(b.ln_2.state_dict())
            for dst, src in ((hb.attn.c_attn, b.attn.c_attn), (hb.attn.c_proj, b.attn.c_proj),
                             (hb.mlp.c_fc, b.mlp.c_fc), (hb.mlp.c_proj, b.mlp.c_proj)):
                dst.weight.copy_(src.weight.T)
                dst.bias.copy_(src.bias)
        hf.transformer.ln_f.load_state_dict(ours.ln_f.state_dict())
        idx = torch.randint(0, 98, (3, 16))
        torch.testing.assert_close(theirs(idx), ours(idx), atol=1e-4, rtol=1e-4)


def test_corpus_holds_out_whole_stdlib_files():
    root = Path(sysconfig.get_paths()["stdlib"])
    files = stdlib_files(root)
    held = [f for f in files if is_held_out(f.relative_to(root).as_posix())]
    assert files and held and len(held) < len(files) / 10
    corpus = load_corpus(max_chars=300_000)
    assert len(corpus.train) == 300_000 and len(corpus.val) > 50_000
    assert corpus.val[:2000] not in corpus.train
    tok = CharTokenizer()
    sample = "def f(x):\n\treturn x → 1\n"
    assert tok.decode(tok.encode(sample)) == sample.replace("→", CharTokenizer.UNK)


def test_bad_settings_are_named():
    with pytest.raises(PathwayError, match="n_embd=100 must be divisible by n_head=3"):
        catalog.validate_config("char-transformer", {"n_embd": 100, "n_head": 3}, cuda=False)
    assert catalog.parse_set("char-transformer", ["backend=hf"], cuda=False) == {"backend": "hf"}  # attention applies to scratch only
    with pytest.raises(PathwayError, match="tokenizer='words' is not allowed"):
        catalog.parse_set("char-transformer", ["tokenizer=words"], cuda=False)



@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    {},
    {"backend": "hf"},
    {"tokenizer": "bpe", "bpe_vocab": 300, "attention": "sdpa"},
], ids=["scratch-char", "hf-char", "scratch-bpe-sdpa"])
def test_tiny_training_run_learns_and_writes_samples(tmp_path, overrides):
    config = small_config(steps=60, lr=3e-3, warmup_steps=5, corpus_chars=300_000, eval_interval=30,
                          eval_windows=16, sample_chars=40, log_interval=10, **overrides)
    report = LocalReport(tmp_path)
    final = ct.train(config, report)
    evals = report.series("eval/loss")
    assert len(evals) == 3  # before training, at 30, and the final one at 60
    assert evals[-1] < evals[0] - 0.5, evals  # from about ln V down
    assert report.series("train/loss")[-1] < report.series("train/loss")[0]
    assert final["step"] == 60 and math.isfinite(final["eval/nats_per_char"])
    sample = (tmp_path / "sample.txt").read_text()
    assert sample.startswith("step 60/60") and "def " in sample
    assert any(line.startswith("sample: ") for line in report.lines)
    if overrides.get("tokenizer") == "bpe":  # per character < per token when tokens hold several characters
        assert report.series("eval/nats_per_char")[-1] < report.series("eval/loss")[-1]


@pytest.mark.slow
def test_runs_through_the_runner(engine, home, monkeypatch):
    from pathway.labs.engine import jobs

    monkeypatch.setenv("PATHWAY_GPU", "none")
    settings = {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 16, "batch_size": 8, "steps": 40,
                "corpus_chars": 200_000, "eval_interval": 20, "eval_windows": 8, "sample_chars": 20, "ckpt_interval": 20}
    run_id = jobs.start(engine, home, "char-transformer", settings)
    run = run_to_the_end(engine, run_id)
    assert run.status == "succeeded", jobs.tail_log(run, 40)
    names = {p.name for p in jobs.metrics_since(engine, run_id)}
    assert {"train/loss", "train/lr", "train/tokens_per_s", "eval/loss", "eval/nats_per_char", "eval/ppl"} <= names
    assert (Path(run.run_dir) / "sample.txt").read_text().startswith("step 40/40")
    assert jobs.final_metrics(run)["step"] == 40


def test_get_batch_draws_every_window_including_the_last():
    config = small_config(block_size=8, batch_size=256)
    data = torch.arange(8 + 3)  # exactly three windows of T + 1 tokens: starts 0, 1 and 2
    x, y = ct.get_batch(data, config, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert set(x[:, 0].tolist()) == {0, 1, 2}  # randint's high is exclusive: len - T, not len - T - 1
    assert y.max().item() == len(data) - 1  # the final token is a target too
