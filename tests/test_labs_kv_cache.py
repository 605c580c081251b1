"""The kv-cache lab: cached decoding equals recomputation and transformers' generate, batching, sampling masks, sizes.

The model in these tests has random weights drawn wide (std 0.3, untied head): a
model with the default small init repeats one token, and two decoders that both
print "61 61 61 ..." agree by accident.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from lab_helpers import run_to_the_end

from pathway.errors import PathwayError
from pathway.labs import catalog
from pathway.labs.engine.local_report import LocalReport
from pathway.labs.programs.kv_cache import generate as kv
from pathway.labs.programs.kv_cache import train as kt
from pathway.labs.programs.llama.hf import to_hf
from pathway.labs.programs.llama.model import KVCache, Llama, ModelArgs

ARGS = ModelArgs(vocab_size=97, dim=48, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden=128, max_seq_len=64,
                 tie_embeddings=False)
PROMPTS = [[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15, 16], [17]]  # ragged on purpose: left padding matters
PAD = 0
N_NEW = 24


def wide_model(args: ModelArgs = ARGS, seed: int = 0) -> Llama:
    torch.manual_seed(seed)
    model = Llama(args).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.3)
    return model


@pytest.fixture(scope="module")
def model() -> Llama:
    return wide_model()


@pytest.fixture(scope="module")
def cached(model) -> kv.Generation:
    return kv.generate(model, PROMPTS, N_NEW, pad_id=PAD)


def test_generated_text_is_not_degenerate(cached):
    """Guards the other tests: equal outputs mean something only when the outputs vary."""
    assert cached.tokens.shape == (len(PROMPTS), N_NEW)
    assert all(len(set(row)) > 8 for row in cached.tokens.tolist())


def test_cached_greedy_equals_recomputing_the_prefix(model, cached):
    recomputed = kv.generate_uncached(model, PROMPTS, N_NEW, pad_id=PAD)
    assert cached.tokens.tolist() == recomputed.tokens.tolist()
    assert len(cached.step_s) == len(recomputed.step_s) == N_NEW - 1  # one prefill, then one call per token


def test_decode_feeds_one_token_per_step(model):
    """The cached path runs the prompt once, then (B, 1) per step; the reference runs the whole prefix each time."""
    seen: list[tuple[int, ...]] = []
    hook = model.register_forward_pre_hook(lambda _m, args: seen.append(tuple(args[0].shape)))
    try:
        kv.generate(model, PROMPTS[:2], 5, pad_id=PAD)
        cached_shapes, seen[:] = list(seen), []
        kv.generate_uncached(model, PROMPTS[:2], 5, pad_id=PAD)
    finally:
        hook.remove()
    assert cached_shapes == [(2, 6)] + [(2, 1)] * 4
    assert seen == [(2, 6 + i) for i in range(5)]


def test_cached_greedy_equals_transformers_generate(model, cached):
    hf = to_hf(model)
    for row, prompt in enumerate(PROMPTS):  # one by one: no padding on either side
        out = hf.generate(torch.tensor([prompt]), max_new_tokens=N_NEW, do_sample=False, pad_token_id=PAD, eos_token_id=None)
        assert out[0, len(prompt):].tolist() == cached.tokens[row].tolist(), f"prompt {row}"
    ids, mask = kv.left_pad(PROMPTS, PAD)  # batched: transformers builds its own positions from the mask
    out = hf.generate(input_ids=ids, attention_mask=mask.long(), max_new_tokens=N_NEW, do_sample=False,
                      pad_token_id=PAD, eos_token_id=None)
    assert out[:, ids.size(1):].tolist() == cached.tokens.tolist()


def test_left_padded_batch_equals_one_prompt_at_a_time(model, cached):
    alone = torch.cat([kv.generate(model, [p], N_NEW, pad_id=PAD).tokens for p in PROMPTS])
    assert cached.tokens.tolist() == alone.tolist()
    for pad in (3, 17):  # the pad id can be any token, even one a prompt uses: the mask, not the id, hides it
        assert kv.generate(model, PROMPTS, N_NEW, pad_id=pad).tokens.tolist() == alone.tolist()


def test_left_padding_mask_and_positions():
    ids, mask = kv.left_pad([[5, 6, 7], [8], [0, 9]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8], [0, 0, 9]]
    assert mask.tolist() == [[True, True, True], [False, False, True], [False, True, True]]  # from lengths, not ids
    assert kv.position_ids_from_mask(mask).tolist() == [[0, 1, 2], [0, 0, 0], [0, 0, 1]]
    with pytest.raises(PathwayError, match="at least one token"):
        kv.left_pad([[1], []], pad_id=0)


def test_the_mask_is_what_makes_padding_harmless_and_rope_ignores_a_shift(model):
    """Without the mask the short prompt attends to its padding and its logits change. Its positions matter less
    than one would think: RoPE scores depend only on the distance between two tokens, so shifting a whole row by
    its padding changes nothing but rounding (a learned position table, GPT-2's, would change)."""
    ids, mask = kv.left_pad([PROMPTS[0], PROMPTS[1]], PAD)
    positions = kv.position_ids_from_mask(mask)
    with torch.no_grad():
        alone = model(torch.tensor([PROMPTS[1]]))[0, -1]
        right = model(ids, attention_mask=mask, position_ids=positions)[1, -1]
        unmasked = model(ids, position_ids=positions)[1, -1]
        shifted = model(ids, attention_mask=mask)[1, -1]  # default positions 0..T-1 in every row
    torch.testing.assert_close(right, alone, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(unmasked, alone, atol=1e-2)
    torch.testing.assert_close(shifted, alone, atol=1e-4, rtol=1e-4)


def test_generation_stops_rows_at_eos_and_pads_after(model, cached):
    eos = cached.tokens[1, 3].item()  # row 1 emits this at its 4th token
    out = kv.generate(model, PROMPTS, N_NEW, pad_id=PAD, eos_id=eos)
    row = out.tokens[1].tolist()
    first = row.index(eos)
    assert first <= 3 and all(t == PAD for t in row[first + 1:])
    assert out.rows(eos)[1] == cached.tokens[1, :first + 1].tolist()


# --- sampling ---------------------------------------------------------------------------

HAND_MADE = torch.tensor([[0.05, 0.40, 0.10, 0.25, 0.20]]).log()  # ranks: 1, 3, 4, 2, 0


@pytest.mark.parametrize("k, kept", [(1, [1]), (2, [1, 3]), (3, [1, 3, 4]), (5, [0, 1, 2, 3, 4]), (0, [0, 1, 2, 3, 4])])
def test_top_k_keeps_the_k_most_likely(k, kept):
    assert kv.top_k_mask(HAND_MADE, k)[0].nonzero().flatten().tolist() == kept


@pytest.mark.parametrize("p, kept", [
    (0.30, [1]),              # 0.40 alone reaches 0.30
    (0.50, [1, 3]),           # 0.40 < 0.50, so the next one (0.25) is kept too: 0.65
    (0.60, [1, 3]),           # 0.65 reaches it: token 4 is not needed
    (0.70, [1, 3, 4]),        # 0.85
    (0.90, [1, 2, 3, 4]),     # 0.95
    (1.00, [0, 1, 2, 3, 4]),  # off
])
def test_top_p_keeps_the_smallest_set_reaching_p(p, kept):
    assert kv.top_p_mask(HAND_MADE, p)[0].nonzero().flatten().tolist() == kept


def test_masks_agree_with_transformers_warpers():
    from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

    logits = torch.randn(8, 50, generator=torch.Generator().manual_seed(1)) * 2
    for k in (1, 5, 20):
        theirs = torch.isfinite(TopKLogitsWarper(top_k=k)(None, logits.clone()))
        assert torch.equal(kv.top_k_mask(logits, k), theirs)
    for p in (0.1, 0.5, 0.9):
        theirs = torch.isfinite(TopPLogitsWarper(top_p=p)(None, logits.clone()))
        assert torch.equal(kv.top_p_mask(logits, p), theirs)


def test_sampling_draws_only_kept_tokens_in_proportion():
    logits = HAND_MADE.expand(20_000, -1)
    gen = torch.Generator().manual_seed(0)
    draws = kv.pick_next(logits, kv.Sampling(temperature=1.0, top_k=3, top_p=1.0), gen)
    counts = torch.bincount(draws, minlength=5).float() / len(draws)
    assert counts[0] == 0 and counts[2] == 0  # outside the top 3
    for token, prob in ((1, 0.40), (3, 0.25), (4, 0.20)):  # renormalized over the kept mass 0.85
        assert abs(counts[token].item() - prob / 0.85) < 0.02
    hot = kv.pick_next(logits, kv.Sampling(temperature=0.05), torch.Generator().manual_seed(0))
    assert (hot == 1).float().mean() > 0.99  # a low temperature is almost greedy


def test_sampling_is_seeded_and_top_k_1_is_greedy(model, cached):
    sampling = kv.Sampling(temperature=1.0, top_k=20, top_p=0.9)
    a = kv.generate(model, PROMPTS, N_NEW, pad_id=PAD, sampling=sampling, generator=torch.Generator().manual_seed(5))
    b = kv.generate(model, PROMPTS, N_NEW, pad_id=PAD, sampling=sampling, generator=torch.Generator().manual_seed(5))
    c = kv.generate(model, PROMPTS, N_NEW, pad_id=PAD, sampling=sampling, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a.tokens, b.tokens) and not torch.equal(a.tokens, c.tokens)
    one = kv.generate(model, PROMPTS, N_NEW, pad_id=PAD, sampling=kv.Sampling(temperature=1.0, top_k=1),
                      generator=torch.Generator().manual_seed(5))
    assert torch.equal(one.tokens, cached.tokens)


# --- the cache's size -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("n_kv_heads", [1, 2, 4])
def test_cache_size_formula_equals_the_measured_tensors(dtype, n_kv_heads):
    args = ModelArgs(vocab_size=97, dim=48, n_layers=3, n_heads=4, n_kv_heads=n_kv_heads, ffn_hidden=128, max_seq_len=64)
    batch, max_len = 3, 40
    cache = KVCache(args, batch, max_len, device="cpu", dtype=dtype)
    element = torch.tensor([], dtype=dtype).element_size()
    assert kv.kv_bytes_per_token(args, element) == 2 * 3 * n_kv_heads * 12 * element
    assert cache.nbytes() / (max_len * batch) == kv.kv_bytes_per_token(args, element)


def test_generation_reports_its_cache(model, cached):
    need = max(len(p) for p in PROMPTS) + N_NEW
    assert cached.cache_max_len == need
    assert cached.cache_bytes == len(PROMPTS) * need * kv.kv_bytes_per_token(ARGS, 4)


# --- bad input ------------------------------------------------------------------------

def test_a_prompt_longer_than_the_context_is_refused_before_generating(model):
    long_prompt = list(range(1, 50))
    with pytest.raises(PathwayError, match=r"Prompt 2 is 49 tokens; with max_new_tokens=24 .* needs 73 positions, .*max_seq_len\) is 64"):
        kv.generate(model, [[1, 2], long_prompt], N_NEW, pad_id=PAD)
    with pytest.raises(PathwayError, match="max_seq_len"):
        kv.generate_uncached(model, [long_prompt], N_NEW, pad_id=PAD)


def test_settings_that_cannot_work_are_refused_before_launch():
    with pytest.raises(PathwayError, match=re.escape("prompts='| |' holds no prompt")):
        catalog.validate_config("kv-cache", {"prompts": "| |"}, cuda=False)
    with pytest.raises(PathwayError, match="max_new_tokens=300 leaves no room for a prompt in fallback_context=256"):
        catalog.validate_config("kv-cache", {"max_new_tokens": 300}, cuda=False)
    assert catalog.parse_set("kv-cache", ["prompts=a|b", "top_p=0.5"], cuda=False) == {"prompts": "a|b", "top_p": 0.5}
    assert catalog.build_config("kv-cache", {"prompts": "|def |class |"}, cuda=False).prompt_list() == ["def ", "class "]


def publish_mismatched(cache_dir: Path) -> None:
    """A published file whose recorded shape (dim 64) is not the shape of its weights (dim 48)."""
    import dataclasses

    from pathway.labs.programs.bpe_tokenizer.bpe import Tokenizer
    from pathway.labs.programs.llama.published import publish

    tok_path = cache_dir / "tok.json"
    cache_dir.mkdir(parents=True, exist_ok=True)
    Tokenizer({i: bytes([i]) for i in range(256)}, [], ["<|endoftext|>"]).save(tok_path)
    publish(wide_model(), dataclasses.replace(ARGS, dim=64, vocab_size=257), tok_path, cache_dir, run_id=1)


def test_a_published_model_of_another_shape_is_refused_with_the_mismatch_named(tmp_path):
    publish_mismatched(tmp_path / "cache")
    report = LocalReport(tmp_path / "run", cache_dir=tmp_path / "cache")
    with pytest.raises(PathwayError, match=r"another shape.*tok_embeddings.weight: saved \(97, 48\), this model has \(257, 64\)"):
        kt.train(catalog.build_config("kv-cache", {}, cuda=False), report)


# --- the lab, end to end --------------------------------------------------------------

TINY = {"fallback_steps": 8, "fallback_context": 64, "max_new_tokens": 12, "rounds": 1, "prompts": "def |import os"}


@pytest.mark.slow
def test_tiny_run_trains_a_fallback_checks_itself_and_writes_the_table(tmp_path):
    config = catalog.build_config("kv-cache", TINY, cuda=False)
    report = LocalReport(tmp_path / "run", cache_dir=tmp_path / "cache")
    final = kt.train(config, report)
    assert any("No llama run has published a model yet" in line for line in report.lines)
    assert final["check/cache_equals_recompute"] == 1.0 and final["check/batched_equals_single"] == 1.0
    assert final["cache/bytes_per_token_formula"] == final["cache/bytes_per_token_measured"] == 2 * 4 * 2 * 32 * 4
    assert math.isfinite(final["decode/speedup"])
    steps = [step for step, metrics in report.rows if "decode/ms_per_token" in metrics]
    assert steps == list(range(2, 13))  # one point per generated token after the prefill's
    kib = report.series("cache/kib")
    assert kib == sorted(kib) and kib[0] < kib[-1]  # the filled part grows by one slot per token
    sample = (tmp_path / "run" / "sample.txt").read_text()
    assert "'def ' -> " in sample and "sampled (temperature 0.8, top-k 50, top-p 0.95, seed 0)" in sample
    assert "with the KV cache" in sample and "recomputing the prefix" in sample and "formula 2 x layers" in sample
    again = LocalReport(tmp_path / "run", cache_dir=tmp_path / "cache", resuming=True)  # the fallback is kept: no training twice
    kt.train(config, again)
    assert again.rewound == 0  # a resumed run measures again from the start
    too_long = catalog.build_config("kv-cache", {**TINY, "prompts": "def |" + "x = 1\n" * 40}, cuda=False)
    with pytest.raises(PathwayError, match=r"Setting prompts=.*Prompt 2 is \d+ tokens; with max_new_tokens=12 .*max_seq_len\) is 64"):
        kt.train(too_long, LocalReport(tmp_path / "run3", cache_dir=tmp_path / "cache"))
    from pathway.labs.programs.kv_cache.fallback import fallback_dir

    (fallback_dir(tmp_path / "cache") / "llama" / "latest.pt").write_bytes(b"not a model")  # a broken kept file
    broken = LocalReport(tmp_path / "run4", cache_dir=tmp_path / "cache")
    assert kt.train(config, broken)["check/cache_equals_recompute"] == 1.0
    assert any("cannot be used" in line for line in broken.lines)  # retrained over it, not a failed run
    assert any("trained by an earlier kv-cache run" in line for line in again.lines)
    assert not any(line.startswith("fallback llama step") for line in again.lines)


@pytest.mark.slow
def test_runs_through_the_runner_and_refuses_a_bad_published_model(engine, home, monkeypatch):
    from pathway.home import cache_dir
    from pathway.labs.engine import jobs

    monkeypatch.setenv("PATHWAY_GPU", "none")
    run_id = jobs.start(engine, home, "kv-cache", TINY)
    run = run_to_the_end(engine, run_id)
    assert run.status == "succeeded", jobs.tail_log(run, 40)
    names = {p.name for p in jobs.metrics_since(engine, run_id)}
    assert {"decode/ms_per_token", "uncached/ms_per_token", "decode/tokens_per_s", "cache/kib"} <= names
    assert jobs.final_metrics(run)["check/cache_equals_recompute"] == 1.0
    assert "recomputing the prefix" in (Path(run.run_dir) / "sample.txt").read_text()

    publish_mismatched(cache_dir(home))
    run = run_to_the_end(engine, jobs.start(engine, home, "kv-cache", TINY))
    assert run.status == "failed"
    assert "another shape" in run.error and "tok_embeddings.weight" in run.error
    assert "Traceback" not in jobs.tail_log(run, 40)


def test_a_cache_mismatch_fails_the_runs_goal():
    from pathway.labs.programs.kv_cache.spec import SPEC

    (goal,) = SPEC.goals
    assert goal.missed({"check/cache_equals_recompute": 1.0}) is None
    assert "must give exactly the tokens of recomputing" in goal.missed({"check/cache_equals_recompute": 0.0})
