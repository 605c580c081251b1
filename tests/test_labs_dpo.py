"""The dpo lab: the loss equals TRL's DPOTrainer on the same batch, the reference stays frozen, the lab runs and resumes."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from pathway.labs.programs.dpo.loss import dpo_loss, sequence_logprobs, token_logprobs
pytest_plugins = ("post_helpers",)  # its fixtures: published, trained_policy_cache


# --- the loss --------------------------------------------------------------------------------

def test_dpo_loss_is_the_written_formula_and_its_gradient_skips_the_reference():
    pc, pr = torch.tensor([-3.0, -5.0], requires_grad=True), torch.tensor([-4.0, -2.0], requires_grad=True)
    rc, rr = torch.tensor([-3.5, -4.0], requires_grad=True), torch.tensor([-3.5, -2.5], requires_grad=True)
    out = dpo_loss(pc, pr, rc, rr, beta=0.5)
    margins = [0.5 * ((-3.0 + 3.5) - (-4.0 + 3.5)), 0.5 * ((-5.0 + 4.0) - (-2.0 + 2.5))]
    expected = sum(-math.log(1 / (1 + math.exp(-m))) for m in margins) / 2
    assert out.loss.item() == pytest.approx(expected, abs=1e-6)
    assert out.margin.tolist() == pytest.approx(margins) and out.reward_accuracy == 0.5
    out.loss.backward()
    assert rc.grad is None and rr.grad is None  # the reference is a constant of the loss
    assert pc.grad[0] < 0 < pr.grad[0]  # descending the loss raises the chosen log-prob and lowers the rejected one
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(pc, pr, rc, rr, beta=0.0)


def test_sequence_logprobs_sum_only_the_masked_tokens():
    logits = torch.randn(2, 4, 7, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0]])
    mask = torch.tensor([[0, 1, 1, 1], [0, 1, 0, 0]])
    full = F.log_softmax(logits, -1)
    assert torch.allclose(token_logprobs(logits, targets)[0, 2], full[0, 2, 3])
    expected = torch.stack([full[0, 1, 2] + full[0, 2, 3] + full[0, 3, 4], full[1, 1, 6]])
    torch.testing.assert_close(sequence_logprobs(logits, targets, mask), expected)


def test_dpo_loss_equals_trl_dpo_trainer_on_the_same_batch(tmp_path):
    """TRL's DPOTrainer (sigmoid loss) on a batch its own collator made; ours on the same models' log-probs."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer
    from trl_helpers import assert_same_grads, grads, tiny_model, tiny_tokenizer

    policy, ref = tiny_model(tmp_path / "policy", seed=0), tiny_model(tmp_path / "ref", seed=1)
    pairs = Dataset.from_dict({"prompt": ["t3 t4 t5", "t6", "t7 t8"], "chosen": [" t9", " t10 t11 t12", " t13 t14"],
                               "rejected": [" t15 t16", " t17", " t18 t19 t20 t21"]})
    beta = 0.3
    args = DPOConfig(output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True, bf16=False, beta=beta,
                     per_device_train_batch_size=3, loss_type=["sigmoid"])
    trainer = DPOTrainer(model=policy, ref_model=ref, args=args, train_dataset=pairs, processing_class=tiny_tokenizer())
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["input_ids"].shape[0] == 6  # chosen rows, then rejected rows
    trainer.model.train()  # its metrics land under "train"; the tiny Llama has no dropout, so the mode changes nothing else
    theirs = trainer.compute_loss(trainer.model, batch)
    theirs.backward()
    their_grads = grads(policy)
    metrics = {k: v[-1] for k, v in trainer._metrics["train"].items()}

    ids, attn, completion = batch["input_ids"], batch["attention_mask"], batch["completion_mask"]
    targets, mask = ids[:, 1:], completion[:, 1:]  # the logits at t predict token t + 1
    logp = sequence_logprobs(policy(input_ids=ids, attention_mask=attn).logits[:, :-1], targets, mask)
    with torch.no_grad():
        ref_logp = sequence_logprobs(ref(input_ids=ids, attention_mask=attn).logits[:, :-1], targets, mask)
    (pc, pr), (rc, rr) = logp.chunk(2), ref_logp.chunk(2)
    ours = dpo_loss(pc, pr, rc, rr, beta=beta)
    ours.loss.backward()

    assert abs(ours.loss.item() - theirs.item()) < 1e-6, (ours.loss.item(), theirs.item())
    assert ours.margin.mean().item() == pytest.approx(metrics["rewards/margins"], abs=1e-6)
    assert ours.chosen_reward.mean().item() == pytest.approx(metrics["rewards/chosen"], abs=1e-6)
    assert ours.rejected_reward.mean().item() == pytest.approx(metrics["rewards/rejected"], abs=1e-6)
    assert pc.mean().item() == pytest.approx(metrics["logps/chosen"], abs=1e-5)
    assert ours.reward_accuracy == pytest.approx(metrics["rewards/accuracies"])
    assert_same_grads(grads(policy), their_grads)


# --- the lab -------------------------------------------------------------------------------

TINY = {"pair_prompts": 64, "samples_per_prompt": 8, "steps": 20, "batch_size": 8, "lr": 1e-3, "warmup_steps": 0,
        "eval_interval": 10, "log_interval": 2, "ckpt_interval": 10}


def tiny_config(**overrides):
    from pathway.labs import catalog

    return catalog.build_config("dpo", {**TINY, **overrides}, cuda=False)


def test_registered_after_sft_and_before_grpo():
    from pathway.labs import catalog

    ids = [lab.id for lab in catalog.all_labs()]
    assert ids.index("dpo") == ids.index("sft") + 1 and ids.index("grpo") == ids.index("dpo") + 1


def test_tiny_run_builds_pairs_from_its_own_samples_and_keeps_the_reference_frozen(tmp_path, published):
    from pathway.labs import catalog
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.dpo import train as dt
    from pathway.labs.programs.post_training.checkpoint import load_policy
    from pathway.labs.programs.post_training.task import verify

    cache, start = published
    published_weights = {k: v.clone() for k, v in start.model.state_dict().items()}
    report = LocalReport(tmp_path / "run", cache_dir=cache)
    seen_refs = []

    def watching_verifier(problem, reply):  # the real verifier, recording which model's samples it scores
        seen_refs.append(reply)
        return verify(problem, reply)

    final = dt.train(tiny_config(), report, verifier=watching_verifier)
    assert final["step"] == 20 and final["pairs"] > 0 and len(seen_refs) >= 64 * 8
    assert any("pairs:" in line and "had a right and a wrong answer" in line for line in report.lines)
    for name in ("train/loss", "train/margin", "train/chosen_logp", "train/rejected_logp", "train/reward_accuracy"):
        assert len(report.series(name)) == 11, name  # step 1, then every second step
    assert len(report.series("eval/exact_match")) == 3  # before, step 10, the end
    # at step 1 the policy is the reference: every margin is 0 and the loss is -log sigmoid(0) = ln 2
    assert report.series("train/loss")[0] == pytest.approx(math.log(2), abs=1e-6)
    assert report.series("train/margin")[0] == pytest.approx(0.0, abs=1e-6)
    # after 20 steps the implicit reward ranks the right answer first, over all the pairs
    assert final["train/loss_all_pairs"] < math.log(2) and final["train/reward_accuracy"] > 0.5 and final["train/margin"] > 0
    # the reference stayed the published SFT model: the margin is measured against it, so it must not move
    again = load_policy(cache, "cpu")
    for name, weight in again.model.state_dict().items():
        assert torch.equal(weight, published_weights[name]), name
    assert all(spec_goal.missed(final) is None for spec_goal in catalog.get_lab("dpo").goals[:1])
    assert "preference pairs" in (tmp_path / "run" / "sample.txt").read_text()


def test_a_verifier_that_raises_fails_the_run_naming_the_prompt(tmp_path, published):
    from pathway.errors import PathwayError
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.dpo import train as dt

    def broken(problem, reply):
        raise KeyError("no such answer")

    cache, _ = published
    with pytest.raises(PathwayError, match=r"The verifier failed on the prompt '\d\+\d'|The verifier failed on the prompt '\d-\d'") as err:
        dt.train(tiny_config(), LocalReport(tmp_path / "run", cache_dir=cache), verifier=broken)
    assert "KeyError" in err.value.message and "no such answer" in err.value.message


def test_resume_continues_the_step_count_with_the_same_pairs(tmp_path, published):
    from pathway.errors import PathwayError
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.dpo import train as dt

    cache, policy = published
    first = dt.train(tiny_config(steps=10), LocalReport(tmp_path / "run", cache_dir=cache))
    resumed = LocalReport(tmp_path / "run", cache_dir=cache, resuming=True)
    final = dt.train(tiny_config(steps=16), resumed)
    assert resumed.rewound == 10 and final["step"] == 16 and final["pairs"] == first["pairs"]
    assert [step for step, m in resumed.rows if "train/loss" in m] == [12, 14, 16]  # no step 1 again
    assert not any("pairs:" in line for line in resumed.lines)  # not sampled again: they came from the checkpoint
    assert final["before/exact_match"] == first["before/exact_match"]
    # another SFT model published since: its reference is not the one the checkpoint trained against
    from post_helpers import publish_tiny_policy

    publish_tiny_policy(cache, steps=20, run_id=8)
    with pytest.raises(PathwayError, match="SFT model of run 7, but the one published now is from run 8"):
        dt.train(tiny_config(steps=20), LocalReport(tmp_path / "run", cache_dir=cache, resuming=True))
