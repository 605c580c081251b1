"""The grpo lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free: the TUI imports this; the losses are `loss.py` beside it, the program `train.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec
from pathway.labs.engine.settings import DEVICE_PATTERN, knob

GAP_TO_CLOSE = 0.5  # of the way from the SFT model's held-out exact match to 100%


@dataclass
class GRPOConfig:
    """Reinforcement learning from the verifier's rewards: G sampled answers per prompt, each scored against its group."""

    # the rollouts
    group_size: int = knob(8, lo=2, hi=1024, help="G: completions sampled per prompt; the advantage is a completion's reward against its group's")
    prompts_per_step: int = knob(32, lo=1, hi=4096, help="training prompts per step; the batch is prompts_per_step x group_size completions")
    temperature: float = knob(0.7, lo=0.05, hi=10.0, help="sampling temperature of the rollouts: too low and a group agrees with itself (A = 0, nothing to learn)")
    max_new_tokens: int = knob(8, lo=2, hi=64, help="tokens a completion may use, <|end|> included; a longer one is cut and scores as unformatted")
    format_reward: float = knob(0.1, lo=0.0, hi=1.0, help="reward for a reply in the answer's form (digits only, as wide as the answer), right or wrong; 1 more for the right one")
    # the objective
    loss: str = knob(
        "grpo", pattern=r"grpo|nanochat", hint="grpo or nanochat",
        help="grpo = clipped ratio + KL to the reference with the settings below; nanochat = its simplification: "
        "no KL, no ratio or clipping, advantage r - mean (no std), token-level average (the settings below are ignored)",
    )
    clip_eps: float = knob(0.2, lo=0.0, hi=10.0, help="PPO clip: the ratio pi / pi_old counts only within 1 +- clip_eps; 0 = no clipping (it acts only when updates_per_batch > 1)")
    kl_beta: float = knob(0.04, lo=0.0, hi=10.0, help="weight of the k3 KL estimate to the frozen SFT model (DeepSeekMath used 0.04); 0 = no penalty, the KL is still shown")
    kl_ratio_weighted: bool = knob(False, help="multiply the KL term by pi / pi_old, as TRL does by default (DeepSeek-V3.2); false = DeepSeekMath's form")
    normalisation: str = knob(
        "token", pattern=r"sequence|token|constant", hint="sequence, token or constant",
        help="how token terms are averaged: sequence = per completion, then over completions (GRPO; long wrong answers "
        "are penalised less per token); token = over all tokens (DAPO); constant = / (batch x max_new_tokens) (Dr. GRPO)",
    )
    scale: str = knob(
        "none", pattern=r"group|batch|none", hint="group, batch or none",
        help="divide advantages by the group's reward std (GRPO), the batch's, or not at all (Dr. GRPO, nanochat)",
    )
    updates_per_batch: int = knob(2, lo=1, hi=64, help="optimizer steps on each batch of rollouts (GRPO's mu); above 1 the policy moves off pi_old and clipping acts")
    # optimization
    steps: int = knob(500, lo=1, hi=1_000_000, help="rollout steps (each samples a new batch of prompts_per_step x group_size answers)")
    lr: float = knob(3e-4, lo=1e-7, hi=1.0, help="AdamW peak learning rate: linear warmup, then cosine decay to a tenth (RL wants it below SFT's)")
    warmup_steps: int = knob(30, lo=0, hi=1_000_000, help="linear warmup")
    grad_clip: float = knob(1.0, lo=0.0, hi=1000.0, help="clip the global gradient norm; 0 = off")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="fixes the prompts drawn and the samples")
    # evaluation and bookkeeping
    eval_interval: int = knob(25, lo=1, hi=1_000_000, help="steps between held-out evaluations (greedy replies to every test problem)")
    ckpt_interval: int = knob(50, lo=1, hi=10_000_000, help="steps between checkpoints; a stopped run resumes from the last")
    sft_steps: int = knob(0, lo=0, hi=10_000_000, help="only when no sft run has published a model and this run trains one: its steps (0 = the sft lab's default)")
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU")
    threads: int = knob(1, lo=0, hi=1024, help="CPU threads for torch; 0 = torch's choice (on 2 shared cores one thread is faster)")


SPEC = LabSpec(
    id="grpo",
    title="Post-training 3: GRPO, rewards from a verifier, advantages from the group",
    description=(
        "From the sft lab's model: G answers sampled per training prompt, scored by the verifier, each answer's "
        "advantage its reward against its group's mean (and std), then PPO's clipped ratio objective with a k3 KL "
        "penalty to the frozen SFT model, or nanochat's simplification (no KL, no clipping, token-level average). "
        "Live: mean reward, accuracy, KL, completion length, and a table of sampled answers with their rewards. "
        "The loss equals TRL's GRPOTrainer on the same batch (a test)."
    ),
    lesson_ids=("w20-post-training-rl", "w20-fine-tuning-lora-distillation"),
    config_cls=GRPOConfig,
    module="pathway.labs.programs.grpo.train",
    expected_seconds={"cpu": 270, "cuda": 120},  # cpu: 265 s measured for the defaults on 2 cores shared by 8 helpers
    cuda_defaults={"threads": 0},
    chart_metrics=("train/reward", "eval/exact_match", "train/kl"),
    goals=(
        Goal("eval/gap_closed", above=GAP_TO_CLOSE,
             why="GRPO must close at least half of the SFT model's gap to 100% held-out exact match (60% -> 80%); "
                 "less means the rewards taught little (more steps, a higher lr, or a larger group)."),
        Goal("train/reward_gain", above=0.0,
             why="The mean sampled reward must end above where it started; a reward that never rose means nothing "
                 "was learned from it (are the groups all right or all wrong? try a higher temperature)."),
        Goal("eval/exact_match", above=0.0,
             why="No held-out problem was answered right: the model is at chance."),
    ),
)
