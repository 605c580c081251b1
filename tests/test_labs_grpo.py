"""The grpo lab: advantages, KL and the loss equal TRL's GRPOTrainer on the same batch; the lab runs, fails loudly, resumes."""

from __future__ import annotations

import pytest
import torch

from pathway.labs.programs.dpo.loss import token_logprobs
from pathway.labs.programs.grpo.loss import LossSettings, group_advantages, grpo_loss, k3_kl, nanochat_loss, reduce_tokens
pytest_plugins = ("post_helpers",)  # its fixtures: published, trained_policy_cache


# --- the pieces ------------------------------------------------------------------------------

def test_advantages_have_zero_mean_in_every_group_and_unit_std_when_scaled():
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.2, 0.9, 0.4, 0.4])
    for scale in ("group", "batch", "none"):
        adv = group_advantages(rewards, group_size=4, scale=scale).view(3, 4)
        assert adv.mean(dim=1).abs().max() < 1e-6, scale
    adv = group_advantages(rewards, 4, "group").view(3, 4)
    assert adv[0].std().item() == pytest.approx(1.0, abs=1e-3)
    assert group_advantages(torch.ones(4), 4).abs().max() == 0  # a group that all scored the same teaches nothing
    torch.testing.assert_close(group_advantages(rewards, 4, "none")[:4], torch.tensor([0.5, -0.5, -0.5, 0.5]))
    with pytest.raises(ValueError, match="groups of 5"):
        group_advantages(rewards, 5)


def test_k3_kl_is_never_negative_and_zero_only_where_policy_equals_reference():
    logp = torch.linspace(-8, 0, 101)
    ref = logp.flip(0)
    kl = k3_kl(logp, ref)
    assert (kl >= 0).all() and (k3_kl(logp, logp) == 0).all() and (kl[logp != ref] > 0).all()
    # unbiased: the mean of k3 over samples from p is KL(p || q) for two categoricals
    p, q = torch.tensor([0.7, 0.2, 0.1]), torch.tensor([0.3, 0.3, 0.4])
    samples = torch.multinomial(p, 200_000, replacement=True, generator=torch.Generator().manual_seed(0))
    estimate = k3_kl(p.log()[samples], q.log()[samples]).mean()
    assert estimate.item() == pytest.approx(float((p * (p / q).log()).sum()), abs=5e-3)


def test_the_three_normalisations_weigh_long_and_short_completions_differently():
    per_token = torch.ones(2, 4)
    mask = torch.tensor([[1, 0, 0, 0], [1, 1, 1, 1]])  # one completion of 1 token, one of 4
    assert reduce_tokens(per_token * torch.tensor([[2.0], [0.0]]), mask, "sequence", 4).item() == 1.0  # 1/2 (2 + 0)
    assert reduce_tokens(per_token * torch.tensor([[2.0], [0.0]]), mask, "token", 4).item() == pytest.approx(2 / 5)
    assert reduce_tokens(per_token * torch.tensor([[2.0], [0.0]]), mask, "constant", 4).item() == pytest.approx(2 / 8)


def test_clipping_stops_the_gradient_of_tokens_whose_ratio_left_the_band():
    old = torch.zeros(1, 3)
    logp = torch.tensor([[0.5, 0.0, -0.5]], requires_grad=True)  # ratios e^0.5, 1, e^-0.5
    terms = grpo_loss(logp, old, None, torch.tensor([1.0]), torch.ones(1, 3), LossSettings(clip_eps=0.2, kl_beta=0.0))
    terms.loss.backward()
    assert logp.grad[0, 0] == 0 and logp.grad[0, 1] < 0 and logp.grad[0, 2] < 0  # A > 0: only a too-high ratio is cut
    assert terms.clip_fraction == pytest.approx(1 / 3)


# --- against TRL ----------------------------------------------------------------------------

def trl_trainer(tmp_path, model, **config):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer
    from trl_helpers import tiny_tokenizer

    args = GRPOConfig(output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True, bf16=False, num_generations=2,
                      per_device_train_batch_size=4, **config)
    never_called = [lambda completions, **_: [0.0] * len(completions)]  # the batch below is made by hand
    return GRPOTrainer(model=model, reward_funcs=never_called, args=args, processing_class=tiny_tokenizer(),
                       train_dataset=Dataset.from_dict({"prompt": ["t3 t4", "t5"]}))


def rollout_batch(model, seed: int = 1):
    """A hand-made batch of 2 prompts x 2 completions with left-padded prompts and completions of different lengths."""
    from trl_helpers import VOCAB

    g = torch.Generator().manual_seed(seed)
    B, P, T = 4, 3, 5
    prompt_ids, completion_ids = torch.randint(3, VOCAB, (B, P), generator=g), torch.randint(3, VOCAB, (B, T), generator=g)
    prompt_mask, completion_mask = torch.ones(B, P, dtype=torch.long), torch.ones(B, T, dtype=torch.long)
    prompt_mask[2:, 0] = 0
    completion_mask[0, 3:] = 0
    completion_mask[2, 1:] = 0
    with torch.no_grad():
        logp = policy_logprobs(model, prompt_ids, prompt_mask, completion_ids, completion_mask)
    batch = {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
             "completion_mask": completion_mask,
             "advantages": group_advantages(torch.tensor([1.0, 0.0, 1.0, 1.0]), 2),  # group 2 all right: A = 0
             # the sampling policy a little off the current one, so ratios differ from 1 and some are clipped
             "old_per_token_logps": logp + 0.3 * torch.randn(B, T, generator=g),
             "ref_per_token_logps": logp + 0.5 * torch.randn(B, T, generator=g)}
    return batch


def policy_logprobs(model, prompt_ids, prompt_mask, completion_ids, completion_mask):
    """Our side: the completion tokens' log-probs from the model's logits (position t predicts token t + 1)."""
    ids, mask = torch.cat([prompt_ids, completion_ids], 1), torch.cat([prompt_mask, completion_mask], 1)
    logits = model(input_ids=ids, attention_mask=mask).logits
    P = prompt_ids.size(1)
    return token_logprobs(logits[:, P - 1:-1], completion_ids)


@pytest.mark.parametrize(("loss_type", "normalisation", "ratio_weighted_kl"), [
    ("grpo", "sequence", False), ("bnpo", "token", False), ("dr_grpo", "constant", False), ("grpo", "sequence", True),
])
def test_grpo_loss_equals_trl_grpo_trainer_on_the_same_batch(tmp_path, loss_type, normalisation, ratio_weighted_kl):
    from trl_helpers import assert_same_grads, grads, tiny_model

    model = tiny_model(tmp_path / "policy", seed=0)
    T = 5
    trainer = trl_trainer(tmp_path, model, beta=0.04, epsilon=0.2, loss_type=loss_type, max_completion_length=T,
                          use_bias_correction_kl=ratio_weighted_kl)
    batch = rollout_batch(model)
    trainer.model.eval()  # eval: no gradient-accumulation divisor (that needs the training loop); the Llama has no dropout
    theirs = trainer.compute_loss(trainer.model, batch)
    theirs.backward()
    their_grads = grads(model)
    their_kl = trainer._metrics["eval"]["kl"][-1]

    logp = policy_logprobs(model, batch["prompt_ids"], batch["prompt_mask"], batch["completion_ids"], batch["completion_mask"])
    settings = LossSettings(clip_eps=0.2, kl_beta=0.04, normalisation=normalisation, max_new_tokens=T,
                            kl_ratio_weighted=ratio_weighted_kl)
    ours = grpo_loss(logp, batch["old_per_token_logps"], batch["ref_per_token_logps"], batch["advantages"],
                     batch["completion_mask"], settings)
    ours.loss.backward()

    assert abs(ours.loss.item() - theirs.item()) < 1e-6, (ours.loss.item(), theirs.item())
    assert 0 < ours.clip_fraction < 1  # the batch exercises the clipping
    if not ratio_weighted_kl:  # TRL logs the ratio-weighted KL when it uses it; ours reports the plain estimate
        assert ours.kl == pytest.approx(their_kl, abs=1e-6)
    assert_same_grads(grads(model), their_grads)


def test_nanochat_loss_has_the_gradient_of_trl_without_kl_clip_or_std(tmp_path):
    """nanochat's -sum(logp A)/tokens against TRL with beta=0, token-level loss, scale_rewards="none", on-policy:
    the values differ by construction (TRL's is built on the ratio, which is 1), the gradients must not."""
    from trl_helpers import assert_same_grads, grads, tiny_model

    model = tiny_model(tmp_path / "policy", seed=0)
    trainer = trl_trainer(tmp_path, model, beta=0.0, loss_type="bnpo", scale_rewards="none", max_completion_length=5)
    batch = rollout_batch(model)
    del batch["old_per_token_logps"], batch["ref_per_token_logps"]  # on-policy: TRL takes pi_old = pi (detached)
    batch["advantages"] = group_advantages(torch.tensor([1.0, 0.0, 1.0, 0.0]), 2, scale="none")
    trainer.model.eval()
    trainer.compute_loss(trainer.model, batch).backward()
    their_grads = grads(model)

    logp = policy_logprobs(model, batch["prompt_ids"], batch["prompt_mask"], batch["completion_ids"], batch["completion_mask"])
    nanochat_loss(logp, batch["advantages"], batch["completion_mask"]).backward()
    assert_same_grads(grads(model), their_grads)


# --- the lab -------------------------------------------------------------------------------

TINY = {"prompts_per_step": 8, "group_size": 4, "steps": 12, "lr": 3e-3, "warmup_steps": 0, "eval_interval": 6,
        "ckpt_interval": 6}


def tiny_config(**overrides):
    from pathway.labs import catalog

    return catalog.build_config("grpo", {**TINY, **overrides}, cuda=False)


def test_tiny_run_reports_reward_kl_length_and_a_table_of_samples(tmp_path, published):
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.grpo import train as gt

    cache, _ = published
    report = LocalReport(tmp_path / "run", cache_dir=cache)
    final = gt.train(tiny_config(), report)
    assert final["step"] == 12
    for name in ("train/reward", "train/accuracy", "train/kl", "train/completion_len", "train/clip_fraction",
                 "train/groups_with_signal"):
        assert len(report.series(name)) == 12, name
    kl = report.series("train/kl")
    # KL to the frozen reference: never negative, 0 at the first step (the policy is the reference), then above 0
    # (a reference that trained along with the policy would keep it at 0)
    assert min(kl) >= 0 and kl[0] < 1e-6 and kl[-1] > 1e-4
    assert max(report.series("train/clip_fraction")) > 0  # the second update per batch moved past the clip range
    assert all(1 <= n <= 8 for n in report.series("train/completion_len"))
    assert len(report.series("eval/exact_match")) == 3
    assert {"eval/gap_closed", "train/reward_gain", "before/exact_match"} <= final.keys()
    sample = (tmp_path / "run" / "sample.txt").read_text()
    assert "after GRPO (step 12)" in sample


def test_the_sample_pane_shows_each_groups_answers_with_reward_and_advantage():
    from pathway.labs.programs.grpo.train import group_table
    from pathway.labs.programs.post_training.sampling import Completion
    from pathway.labs.programs.post_training.task import Problem

    p = Problem(3, 4, "+", 1)
    completions = [Completion(p, [], text) for text in ("07", "08", "07", "06")]
    rewards = torch.tensor([1.1, 0.1, 1.1, 0.1])
    table = group_table(completions, rewards, group_advantages(rewards, 4), group_size=4)
    assert "3+4 = 07" in table and "group mean reward 0.60" in table
    assert "'08'" in table and "reward 0.10" in table and "advantage -" in table and "advantage +" in table


@pytest.mark.parametrize("loss", ["grpo", "nanochat"])
def test_a_verifier_that_raises_fails_the_run_naming_the_prompt(tmp_path, published, loss):
    from pathway.errors import PathwayError
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.grpo import train as gt

    def broken(problem, reply):
        return 1 / 0

    cache, _ = published
    with pytest.raises(PathwayError, match=r"The verifier failed on the prompt '\d[+-]\d' with the completion") as err:
        gt.train(tiny_config(loss=loss), LocalReport(tmp_path / "run", cache_dir=cache), verifier=broken)
    assert "ZeroDivisionError" in err.value.message


def test_a_reward_that_never_rises_is_judged_a_failed_check(tmp_path, published):
    from pathway.labs import catalog
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.grpo import train as gt
    from pathway.labs.programs.post_training.task import Score

    def stingy(problem, reply):  # a reward function that gives nothing: every advantage is 0
        return Score(correct=0.0, formatted=0.0)

    cache, _ = published
    config = tiny_config(loss="nanochat")
    final = gt.train(config, LocalReport(tmp_path / "run", cache_dir=cache), verifier=stingy)
    assert final["train/reward_gain"] == 0.0
    missed = catalog.get_lab("grpo").judge(config, final)
    assert any(reason.startswith("train/reward_gain = 0") and "never rose" in reason for reason in missed)


def test_resume_continues_the_step_count_and_the_reward_history(tmp_path, published):
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.engine.contract import CHECKPOINT_NAME
    from pathway.labs.programs.common.torchkit import load_checkpoint
    from pathway.labs.programs.grpo import train as gt

    cache, _ = published
    gt.train(tiny_config(steps=6), LocalReport(tmp_path / "run", cache_dir=cache))
    resumed = LocalReport(tmp_path / "run", cache_dir=cache, resuming=True)
    final = gt.train(tiny_config(steps=9), resumed)
    assert resumed.rewound == 6 and final["step"] == 9
    assert [step for step, m in resumed.rows if "train/reward" in m] == [7, 8, 9]
    assert not any(step == 0 for step, _ in resumed.rows)  # the starting evaluation is not redone
    assert len(load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME, "cpu")["rewards_seen"]) == 9


@pytest.mark.slow
def test_runs_through_the_runner_from_the_published_sft_model(engine, home, monkeypatch, trained_policy_cache):
    import shutil

    from lab_helpers import run_to_the_end
    from pathway.labs.engine import jobs

    monkeypatch.setenv("PATHWAY_GPU", "none")
    shutil.copytree(trained_policy_cache, home / "cache", dirs_exist_ok=True)
    run_id = jobs.start(engine, home, "grpo", {**TINY, "steps": 4, "eval_interval": 2})
    run = run_to_the_end(engine, run_id)
    # the tiny policy cannot close half its gap in 4 steps: the run ends judged, not crashed
    assert run.status in ("succeeded", "check failed"), jobs.tail_log(run, 40)
    names = {p.name for p in jobs.metrics_since(engine, run_id)}
    assert {"train/reward", "train/accuracy", "train/kl", "train/completion_len", "eval/exact_match"} <= names
    assert jobs.final_metrics(run)["step"] == 4
    assert "the sft lab's model from run 7" in jobs.tail_log(run, 80)
