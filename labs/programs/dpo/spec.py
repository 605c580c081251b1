"""The dpo lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free: the TUI imports this; the loss is `loss.py` beside it, the program `train.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec
from pathway.labs.engine.settings import DEVICE_PATTERN, knob


@dataclass
class DPOConfig:
    """Direct preference optimisation on pairs of the SFT model's own answers: a right one preferred to a wrong one."""

    # the pairs
    pair_prompts: int = knob(1024, lo=1, hi=1_000_000, help="training prompts sampled to build pairs; only those with a right and a wrong answer give one")
    samples_per_prompt: int = knob(8, lo=2, hi=256, help="answers sampled per prompt, from which one right and one wrong are taken")
    temperature: float = knob(1.0, lo=0.05, hi=10.0, help="sampling temperature for the pairs: too low and a prompt's answers all agree")
    max_new_tokens: int = knob(8, lo=2, hi=64, help="tokens an answer may use, <|end|> included")
    # the objective
    beta: float = knob(0.5, lo=1e-4, hi=100.0, help="DPO's beta: the KL strength of the RLHF objective it solves; small lets the policy move far from the reference (measured here: beta 0.1 at lr 5e-5 took held-out exact match from 75% to 48% in 50 steps, 0.5 at 2e-5 to 77%)")
    # optimization
    steps: int = knob(100, lo=1, hi=1_000_000, help="optimizer steps over the pairs")
    batch_size: int = knob(32, lo=1, hi=4096, help="pairs per step")
    lr: float = knob(2e-5, lo=1e-7, hi=1.0, help="AdamW peak learning rate: linear warmup, then cosine decay to a tenth")
    warmup_steps: int = knob(10, lo=0, hi=1_000_000, help="linear warmup")
    grad_clip: float = knob(1.0, lo=0.0, hi=1000.0, help="clip the global gradient norm; 0 = off")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="fixes the prompts, the samples and the batch order")
    # evaluation and bookkeeping
    eval_interval: int = knob(25, lo=1, hi=1_000_000, help="steps between held-out evaluations (greedy replies to every test problem)")
    log_interval: int = knob(5, lo=1, hi=100_000, help="steps between train-metric reports")
    ckpt_interval: int = knob(50, lo=1, hi=10_000_000, help="steps between checkpoints; a stopped run resumes from the last")
    sft_steps: int = knob(0, lo=0, hi=10_000_000, help="only when no sft run has published a model and this run trains one: its steps (0 = the sft lab's default)")
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU")
    threads: int = knob(1, lo=0, hi=1024, help="CPU threads for torch; 0 = torch's choice (on 2 shared cores one thread is faster)")


SPEC = LabSpec(
    id="dpo",
    title="Post-training 2: DPO on the SFT model's own right and wrong answers",
    description=(
        "From the sft lab's model: sample several answers to training prompts, keep a right and a wrong one per "
        "prompt (the verifier decides), and train on those pairs with the DPO loss against a frozen copy of the "
        "SFT model. Curves: loss, reward margin, chosen and rejected log-probabilities, held-out exact match "
        "before and after. The loss equals TRL's DPOTrainer on the same batch (a test)."
    ),
    lesson_ids=("w20-post-training-rl", "w20-fine-tuning-lora-distillation"),
    config_cls=DPOConfig,
    module="pathway.labs.programs.dpo.train",
    expected_seconds={"cpu": 60, "cuda": 30},  # cpu: 47 s measured (pairs 9 s, 100 steps) on 2 busy cores
    cuda_defaults={"threads": 0},
    chart_metrics=("train/loss", "train/margin", "train/chosen_logp", "train/rejected_logp", "eval/exact_match"),
    goals=(
        Goal("train/reward_accuracy", above=0.5,
             why="The implicit reward must rank the right answer above the wrong one in most pairs; 50% is a coin toss."),
        Goal("eval/exact_match", above=0.0,
             why="No held-out problem was answered right: the model is at chance."),
    ),
)
