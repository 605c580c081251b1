"""The llama lab: the model equals transformers' LlamaForCausalLM, its parts equal their textbook forms, the lab runs.

Shapes use B, T, H > 1, T != head_dim and n_kv_heads < n_heads, so a wrong head
split or a wrong key/value head sharing cannot pass by accident.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from pathway.errors import PathwayError
from pathway.labs.programs.llama.hf import to_hf
from pathway.labs.programs.llama.model import (
    KVCache, Llama, ModelArgs, RMSNorm, apply_rope, apply_rope_interleaved, interleaved_permutation, load_weights,
    rope_angles, swiglu_hidden,
)

VOCAB = 300


def small_args(**overrides) -> ModelArgs:
    values = dict(vocab_size=VOCAB, dim=48, n_layers=2, n_heads=6, n_kv_heads=2, ffn_hidden=128, max_seq_len=64,
                  rope_theta=500.0)
    values.update(overrides)
    return ModelArgs(**values)


def model_for(args: ModelArgs, seed: int = 0, fused: bool = True) -> Llama:
    torch.manual_seed(seed)
    model = Llama(args, fused=fused).eval()
    with torch.no_grad():  # norms start at 1; random ones make sure a misplaced norm weight shows
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
    return model


@pytest.fixture
def tokens() -> torch.Tensor:
    return torch.randint(0, VOCAB, (3, 11), generator=torch.Generator().manual_seed(1))


# --- the whole model against transformers ------------------------------------------------------

@pytest.mark.parametrize("tie", [True, False], ids=["tied", "untied"])
@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_logits_equal_llama_for_causal_lm(tokens, tie, attn):
    model = model_for(small_args(tie_embeddings=tie))
    hf = to_hf(model, attn_implementation=attn)
    assert sum(p.numel() for p in hf.parameters()) == sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        ours, theirs = model(tokens), hf(input_ids=tokens).logits
    assert ours.dtype == torch.float32 and ours.shape == (3, 11, VOCAB)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)
    assert (model.output.weight is model.tok_embeddings.weight) == tie


def test_manual_attention_equals_fused(tokens):
    fused, manual = model_for(small_args()), model_for(small_args(), fused=False)
    with torch.no_grad():
        torch.testing.assert_close(manual(tokens), fused(tokens), atol=1e-5, rtol=1e-5)


# --- the parts ---------------------------------------------------------------------------

def test_rmsnorm_scales_by_root_mean_square_only():
    x = torch.randn(4, 10) * 3 + 5  # a mean far from 0: LayerNorm would remove it, RMSNorm keeps the direction
    norm = RMSNorm(10, eps=0.0)
    y = norm(x)
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(4))
    torch.testing.assert_close(y * x.norm(dim=-1, keepdim=True) / math.sqrt(10), x)
    assert not torch.allclose(y, F.layer_norm(x, (10,)), atol=1e-2)


def plain_multi_head_attention(model: Llama, x: torch.Tensor) -> torch.Tensor:
    """The first layer's attention written out for n_kv_heads == n_heads: every head its own q, k, v columns."""
    attn, args = model.layers[0].attention, model.args
    B, T, _ = x.shape
    d = args.head_dim
    cos, sin = rope_angles(torch.arange(T).expand(B, T), d, args.rope_theta)
    q, k, v = attn.wq(x), attn.wk(x), attn.wv(x)
    outs = []
    for h in range(args.n_heads):
        qh, kh, vh = (t[:, :, h * d:(h + 1) * d][:, None] for t in (q, k, v))  # (B, 1, T, d)
        qh, kh = apply_rope(qh, cos, sin)[:, 0], apply_rope(kh, cos, sin)[:, 0]
        scores = qh @ kh.transpose(1, 2) / math.sqrt(d)
        scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        outs.append(torch.softmax(scores, -1) @ vh[:, 0])
    return attn.wo(torch.cat(outs, dim=-1))


def test_gqa_with_as_many_kv_heads_is_multi_head_attention():
    args = small_args(n_kv_heads=6)
    model = model_for(args)
    x = torch.randn(2, 9, args.dim)
    cos, sin = rope_angles(torch.arange(9).expand(2, 9), args.head_dim, args.rope_theta)
    with torch.no_grad():
        ours = model.layers[0].attention(x, cos, sin, None, None)
        torch.testing.assert_close(ours, plain_multi_head_attention(model, x), atol=1e-5, rtol=1e-5)


def test_gqa_shares_each_kv_head_with_its_group():
    """n_kv_heads=2 of 6: query heads 0-2 use kv head 0, 3-5 kv head 1 (the order Hugging Face's repeat_kv uses)."""
    gqa = model_for(small_args(n_kv_heads=2))
    mha = model_for(small_args(n_kv_heads=6))
    d = gqa.args.head_dim
    with torch.no_grad():
        mha.load_state_dict({k: v for k, v in gqa.state_dict().items() if ".wk." not in k and ".wv." not in k}, strict=False)
        for g, m in zip(gqa.layers, mha.layers):
            for name in ("wk", "wv"):
                w = getattr(g.attention, name).weight.view(2, d, -1)  # (kv heads, d, dim)
                getattr(m.attention, name).weight.copy_(w.repeat_interleave(3, dim=0).reshape(6 * d, -1))
        x = torch.randint(0, VOCAB, (2, 9))
        torch.testing.assert_close(gqa(x), mha(x), atol=1e-5, rtol=1e-5)


def test_rotate_half_and_interleaved_give_the_same_scores_after_a_permutation():
    B, H, T, d = 2, 3, 7, 8
    q, k = torch.randn(B, H, T, d), torch.randn(B, H, T, d)
    pos = torch.arange(T).expand(B, T)
    cos, sin = rope_angles(pos, d, 10000.0)
    half_scores = apply_rope(q, cos, sin) @ apply_rope(k, cos, sin).transpose(-2, -1)
    p = interleaved_permutation(d)
    inter_scores = apply_rope_interleaved(q[..., p], pos, 10000.0) @ apply_rope_interleaved(k[..., p], pos, 10000.0).transpose(-2, -1)
    torch.testing.assert_close(inter_scores, half_scores, atol=1e-5, rtol=1e-5)
    # the layouts really differ: the same vectors, unpermuted, give other scores
    wrong = apply_rope_interleaved(q, pos, 10000.0) @ apply_rope_interleaved(k, pos, 10000.0).transpose(-2, -1)
    assert not torch.allclose(wrong, half_scores, atol=1e-3)


def test_rope_scores_depend_on_distance_only():
    d = 8
    q, k = torch.randn(1, 1, 1, d), torch.randn(1, 1, 1, d)

    def score(i: int, j: int) -> float:
        ci, si = rope_angles(torch.tensor([[i]]), d, 10000.0)
        cj, sj = rope_angles(torch.tensor([[j]]), d, 10000.0)
        return (apply_rope(q, ci, si) * apply_rope(k, cj, sj)).sum().item()

    assert score(5, 2) == pytest.approx(score(103, 100), abs=1e-4)
    assert score(5, 2) != pytest.approx(score(5, 4), abs=1e-3)


def test_swiglu_hidden_keeps_the_parameter_count_of_a_4x_mlp():
    assert swiglu_hidden(4096, multiple_of=256) == 11008  # Llama-1/2 7B
    assert swiglu_hidden(256) == 688
    dim = 768
    assert abs(3 * dim * swiglu_hidden(dim) - 2 * dim * 4 * dim) / (2 * dim * 4 * dim) < 0.02


def test_no_biases_anywhere():
    model = model_for(small_args(tie_embeddings=False))
    assert not [name for name, _ in model.named_parameters() if "bias" in name]


# --- cache, mask and positions ----------------------------------------------------------------

def test_cached_forward_equals_uncached(tokens):
    model = model_for(small_args())
    with torch.no_grad():
        full = model(tokens)
        cache = KVCache(model.args, batch_size=3, max_len=16, device="cpu", dtype=torch.float32)
        steps = [model(tokens[:, :5], cache=cache)]  # prefill
        for t in range(5, tokens.shape[1]):  # then one token at a time
            steps.append(model(tokens[:, t:t + 1], cache=cache))
    assert cache.length == tokens.shape[1]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)
    args = model.args
    assert cache.nbytes() == 2 * args.n_layers * 3 * args.n_kv_heads * 16 * args.head_dim * 4


def test_cache_overflow_is_refused(tokens):
    model = model_for(small_args())
    cache = KVCache(model.args, batch_size=3, max_len=8, device="cpu", dtype=torch.float32)
    with pytest.raises(PathwayError, match="holds 8 positions"):
        model(tokens, cache=cache)


def test_left_padded_rows_equal_the_unpadded_row():
    model = model_for(small_args())
    gen = torch.Generator().manual_seed(3)
    long, short = torch.randint(0, VOCAB, (9,), generator=gen), torch.randint(0, VOCAB, (5,), generator=gen)
    pad = 4
    batch = torch.stack([long, torch.cat([torch.zeros(pad, dtype=torch.long), short])])
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, :pad] = False
    positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        alone_long, alone_short = model(long[None]), model(short[None])
        padded = model(batch, attention_mask=mask, position_ids=positions)
        torch.testing.assert_close(padded[0], alone_long[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(padded[1, pad:], alone_short[0], atol=1e-5, rtol=1e-5)
        assert torch.isfinite(padded).all()  # padding queries see nothing real, yet stay finite
        # and then decoding a shared next token with the cache: the mask grows by one real slot
        cache = KVCache(model.args, 2, 12, device="cpu", dtype=torch.float32)
        model(batch, cache=cache, attention_mask=mask, position_ids=positions)
        nxt = torch.tensor([[7], [7]])
        mask2 = torch.cat([mask, torch.ones(2, 1, dtype=torch.bool)], dim=1)
        step = model(nxt, cache=cache, attention_mask=mask2, position_ids=positions[:, -1:] + 1)
        torch.testing.assert_close(step[1, 0], model(torch.cat([short, nxt[1]])[None])[0, -1], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(step[0, 0], model(torch.cat([long, nxt[0]])[None])[0, -1], atol=1e-5, rtol=1e-5)


def test_sampling_with_the_cache_runs_past_the_context():
    """The lab's sampler refills the cache when it is full (context 8, 30 new tokens) and is seeded."""
    from pathway.labs.programs.llama.train import generate

    model = model_for(small_args(max_seq_len=8))
    first = generate(model, [1, 2, 3], 30, 1.0, torch.Generator().manual_seed(0), "cpu")
    again = generate(model, [1, 2, 3], 30, 1.0, torch.Generator().manual_seed(0), "cpu")
    assert len(first) == 30 and first == again and all(0 <= t < VOCAB for t in first)


# --- bad input ---------------------------------------------------------------------------

def test_heads_not_divisible_by_kv_heads_is_refused():
    with pytest.raises(PathwayError, match="n_heads=6 must be divisible by n_kv_heads=4"):
        small_args(n_kv_heads=4)


def test_checkpoint_of_another_shape_is_refused_with_the_mismatch_named():
    saved = model_for(small_args(n_kv_heads=6)).state_dict()
    model = model_for(small_args(n_kv_heads=2))
    with pytest.raises(PathwayError, match=r"layers\.0\.attention\.wk\.weight: saved \(48, 48\), this model has \(16, 48\)"):
        load_weights(model, saved, "checkpoint.pt")
    load_weights(model, model_for(small_args(n_kv_heads=2), seed=5).state_dict(), "checkpoint.pt")  # same shape loads


# --- the lab -------------------------------------------------------------------------------

def test_config_check_names_the_setting_before_launch():
    from pathway.labs import catalog

    with pytest.raises(PathwayError, match="n_heads=6 must be divisible by n_kv_heads=4.*Try n_kv_heads=3"):
        catalog.validate_config("llama", {"dim": 96, "n_heads": 6, "n_kv_heads": 4}, cuda=False)
    with pytest.raises(PathwayError, match="dim=100 must be divisible by n_heads=3"):
        catalog.validate_config("llama", {"dim": 100, "n_heads": 3, "n_kv_heads": 1}, cuda=False)
    with pytest.raises(PathwayError, match="head_dim = dim / n_heads = 5 must be even"):
        catalog.validate_config("llama", {"dim": 20, "n_heads": 4, "n_kv_heads": 2}, cuda=False)
    with pytest.raises(PathwayError, match="vocab_size"):
        catalog.parse_set("llama", ["vocab_size=200"], cuda=False)
    assert catalog.parse_set("llama", ["n_kv_heads=1"], cuda=False) == {"n_kv_heads": 1}  # multi-query is fine
    ids = [lab.id for lab in catalog.all_labs()]
    assert ids.index("llama") == ids.index("char-transformer") + 1


TINY = {"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "block_size": 32, "batch_size": 8, "vocab_size": 320,
        "corpus_chars": 200_000, "eval_windows": 8, "sample_tokens": 16, "log_interval": 10}


def tiny_config(**overrides):
    from pathway.labs import catalog

    return catalog.build_config("llama", {**TINY, **overrides}, cuda=False)


@pytest.mark.slow
def test_tiny_run_learns_checks_against_transformers_and_publishes(tmp_path):
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.llama import train as lt
    from pathway.labs.programs.llama.published import load_published

    cache = tmp_path / "cache"
    report = LocalReport(tmp_path / "run", cache_dir=cache)
    final = lt.train(tiny_config(steps=60, lr=3e-3, warmup_steps=5, eval_interval=30), report)
    assert any("training it now" in line for line in report.lines)  # first use trains the course tokenizer, and says so
    bpb = report.series("eval/bpb")
    assert len(bpb) == 3 and bpb[-1] < bpb[0] - 0.3, bpb
    assert final["check/hf_logits"] == 1.0 and final["check/hf_max_abs_diff"] < 1e-4
    assert final["eval/bpb"] < 8.0 and final["step"] == 60
    assert report.series("train/bpb") and (tmp_path / "run" / "sample.txt").read_text().startswith("step 60/60")
    from pathway.labs import catalog

    assert all(goal.missed(final) is None for goal in catalog.get_lab("llama").goals)

    model, args, tok = load_published(cache, "cpu")
    assert args.vocab_size == tok.vocab_size == 320 and args.n_kv_heads == 2
    x = torch.tensor([tok.encode("def f(x):\n    return x")])
    with torch.no_grad():
        assert model(x).shape == (1, x.shape[1], 320)

    # a second run finds the tokenizer; resuming with another shape is refused by name
    again = LocalReport(tmp_path / "run", cache_dir=cache, resuming=True)
    with pytest.raises(PathwayError, match=r"checkpoint .* another shape .*wk\.weight"):
        lt.train(tiny_config(steps=70, n_kv_heads=4), again)
    assert not any("training it now" in line for line in again.lines)


@pytest.mark.slow
def test_resume_continues_from_the_checkpoint(tmp_path):
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.llama import train as lt

    cache = tmp_path / "cache"
    lt.train(tiny_config(steps=20, ckpt_interval=10, eval_interval=100, sample_tokens=0, publish=False),
             LocalReport(tmp_path / "run", cache_dir=cache))
    resumed = LocalReport(tmp_path / "run", cache_dir=cache, resuming=True)
    final = lt.train(tiny_config(steps=30, ckpt_interval=10, eval_interval=100, sample_tokens=0, publish=False), resumed)
    assert resumed.rewound == 20 and final["step"] == 30
    assert [step for step, m in resumed.rows if "train/loss" in m] == [30]
    assert any("resumed from checkpoint at step 20" in line for line in resumed.lines)


@pytest.mark.slow
def test_char_transformer_reports_bits_per_byte(tmp_path):
    from pathway.labs import catalog
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.char_transformer import train as ct
    from pathway.labs.programs.char_transformer.corpus import load_corpus

    config = catalog.build_config("char-transformer", {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 16, "batch_size": 8,
                                                       "steps": 5, "corpus_chars": 100_000, "eval_windows": 4, "sample_chars": 0},
                                  cuda=False)
    final = ct.train(config, LocalReport(tmp_path))
    val = load_corpus(100_000).val
    expected = final["eval/nats_per_char"] * len(val) / len(val.encode("utf-8")) / math.log(2)
    assert final["eval/bpb"] == pytest.approx(expected)
    assert catalog.get_lab("char-transformer").chart_metrics[0] == catalog.get_lab("llama").chart_metrics[0] == "eval/bpb"


@pytest.mark.slow
def test_runs_through_the_runner(engine, home, monkeypatch):
    from lab_helpers import run_to_the_end
    from pathway.labs.engine import jobs

    monkeypatch.setenv("PATHWAY_GPU", "none")
    run_id = jobs.start(engine, home, "llama", {**TINY, "steps": 20, "eval_interval": 10, "ckpt_interval": 10})
    run = run_to_the_end(engine, run_id)
    assert run.status == "succeeded", jobs.tail_log(run, 40)
    names = {p.name for p in jobs.metrics_since(engine, run_id)}
    assert {"train/loss", "train/bpb", "train/lr", "train/tokens_per_s", "eval/loss", "eval/bpb", "eval/ppl"} <= names
    final = jobs.final_metrics(run)
    assert final["step"] == 20 and final["check/hf_logits"] == 1.0
    assert (home / "cache" / "llama" / "latest.pt").exists()
