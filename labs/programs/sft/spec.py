"""The sft lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free: the TUI imports this; the program is `train.py` beside it, LoRA `lora.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec
from pathway.labs.engine.settings import DEVICE_PATTERN, knob

GOAL_EXACT = 0.6
LORA_TARGETS = ("wq", "wk", "wv", "wo", "w1", "w2", "w3")  # the Linear layers of a llama block, by their names in model.py


def parse_lora_targets(text: str) -> tuple[str, ...]:
    """'wq,wv' -> ('wq', 'wv'); a name that is not a llama Linear is refused, listing the ones that are."""
    from pathway.errors import PathwayError

    names = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in names if t not in LORA_TARGETS]
    if unknown or not names:
        raise PathwayError(f"lora_targets={text!r}: {', '.join(unknown) or 'nothing'} is not a Linear of a llama block. "
                           f"Choose from {', '.join(LORA_TARGETS)}, separated by commas.")
    return names


@dataclass
class SFTConfig:
    """Supervised fine-tuning of a small llama on chat-formatted arithmetic, the loss on the assistant's tokens only."""

    # the task
    digits: int = knob(2, lo=1, hi=9, help="operands of up to this many digits, zero-padded, added or subtracted (47+85=132 is written 47+85, 132; 07+05, 012)")
    n_test: int = knob(200, lo=10, hi=100_000, help="held-out problems, never trained on (nor their a+b / b+a twin)")
    task_seed: int = knob(0, lo=0, hi=2**31 - 1, help="fixes which problems are held out; dpo and grpo reuse the split")
    # the base model
    base: str = knob(
        "task", pattern=r"auto|llama|task", hint="task, llama or auto",
        help="where the weights start: task = a small llama with random weights (the default: 0.1M parameters, "
        "a step ~6x cheaper than the llama lab's model, and a model of code knows no arithmetic to start with); "
        "llama = the model the llama lab published (refused when there is none); auto = llama when one was "
        "published, else task. Either is then pretrained on task text (pretrain_steps)",
    )
    pretrain_steps: int = knob(
        1500, lo=0, hi=1_000_000,
        help="steps of next-token training on plain 'a+b=c' lines before SFT, from either base (kept in the cache, so "
        "only the first run with these settings pays for it, ~2-3 min on 2 busy cores); 0 = none. The loss drops "
        "late, once the model finds how to carry: 1500 steps measured 1.05 nats/token, 1000 stopped at 1.28 and "
        "SFT from it reached only 16%",
    )
    base_dim: int = knob(64, lo=8, hi=4096, help="width of a base from random weights (a published llama keeps its own)")
    base_layers: int = knob(2, lo=1, hi=64, help="blocks of a base from random weights")
    base_vocab: int = knob(
        257, lo=257, hi=65536,
        help="tokenizer of a base from random weights: 257 = bytes only (every digit is a byte anyway, and the output "
        "layer stays small); larger = the course BPE of that size (the llama lab's, trained once and cached)",
    )
    # fine-tuning
    method: str = knob(
        "full", pattern=r"full|lora", hint="full or lora",
        help="full = every weight trains; lora = the base frozen, low-rank adapters A, B on lora_targets "
        "(plus the new chat-token embedding rows), merged into the weights at the end. On this 0.1M-parameter model "
        "LoRA learns far slower: r=8 measured 3-5% held-out exact match after 600-1500 steps, full 75.5% after 600",
    )
    lora_r: int = knob(8, lo=1, hi=1024, help="LoRA rank: adapter parameters per matrix are r x (d_in + d_out)")
    lora_alpha: float = knob(16.0, lo=0.01, hi=10_000.0, help="LoRA scale: the update is (alpha / r) B A, so the step size does not change with r")
    lora_targets: str = knob(
        "wq,wk,wv,wo,w1,w2,w3", hint="names from wq,wk,wv,wo,w1,w2,w3",
        help="which Linear layers get adapters (attention wq wk wv wo, SwiGLU w1 w2 w3); the LoRA paper adapts wq, wv",
    )
    lr: float = knob(1e-3, lo=1e-6, hi=1.0, help="AdamW peak learning rate (LoRA usually takes a higher one than full fine-tuning)")
    steps: int = knob(
        600, lo=1, hi=10_000_000,
        help="optimizer steps of SFT, 64 conversations each; sized to land well above 60% held-out exact match but "
        "short of 100%, so dpo and grpo have room to improve (one run measured 8% at step 250, 78% at 500, 95% at 900)",
    )
    batch_size: int = knob(64, lo=1, hi=8192, help="conversations per step (padding) or rows of pack_len tokens (packing)")
    batching: str = knob(
        "pad", pattern=r"pad|pack", hint="pad or pack",
        help="pad = one conversation per row, right-padded, padding masked out of loss and attention; "
        "pack = conversations laid end to end in rows of pack_len tokens, no padding, but attention crosses conversations",
    )
    pack_len: int = knob(64, lo=16, hi=8192, help="row length in tokens when batching=pack")
    warmup_steps: int = knob(30, lo=0, hi=1_000_000, help="linear warmup before the cosine decay")
    weight_decay: float = knob(0.0, lo=0.0, hi=1.0, help="AdamW decay on the matrices (not norms, embeddings or LoRA's B)")
    grad_clip: float = knob(1.0, lo=0.0, hi=1000.0, help="clip the global gradient norm; 0 = off")
    seed: int = knob(
        0, lo=0, hi=2**31 - 1,
        help="fixes the batch order and, for a task base, its weights. Learning to carry comes as a sudden drop, "
        "and when depends on the seed: seed 0 measured 75.5%, seed 1 only 6% (its base found the carry later, "
        "1.12 nats against 1.05 after pretraining); raise pretrain_steps and steps when a run misses",
    )
    # evaluation and bookkeeping
    eval_interval: int = knob(200, lo=1, hi=1_000_000, help="steps between held-out evaluations (greedy replies to every test problem)")
    log_interval: int = knob(10, lo=1, hi=100_000, help="steps between train-loss reports")
    ckpt_interval: int = knob(200, lo=1, hi=10_000_000, help="steps between checkpoints; a stopped run resumes from the last")
    peft_check: bool = knob(True, help="at the end, build the same LoRA with peft and compare outputs and parameter counts")
    publish: bool = knob(
        True,
        help="at the end, save the model for the dpo and grpo labs (sft/latest.pt in the cache) when it meets the goal, "
        "or when none was saved before",
    )
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU")
    threads: int = knob(1, lo=0, hi=1024, help="CPU threads for torch; 0 = torch's choice (on 2 shared cores one thread is faster)")

    def check(self) -> None:
        """What can be refused before launch."""
        from pathway.errors import PathwayError

        parse_lora_targets(self.lora_targets)
        if self.base_dim % 8:
            raise PathwayError(f"base_dim={self.base_dim} must be a multiple of 8: the task base has 4 query heads of even width.")
        from pathway.labs.programs.post_training.task import TaskSpec

        TaskSpec(digits=self.digits, n_test=self.n_test, seed=self.task_seed)  # too few problems left to train on: refused


SPEC = LabSpec(
    id="sft",
    title="Post-training 1: supervised fine-tuning with a chat template, full or LoRA",
    description=(
        "A small llama (random weights, or with base=llama the llama lab's published model, first pretrained "
        "here on plain task text) learns to answer 2-digit arithmetic in a chat format: system/user/assistant special tokens added to the tokenizer with new "
        "embedding rows, the loss on the assistant's tokens only, padding or packing, full fine-tuning or LoRA "
        "written out (A, B, alpha/r, B = 0 at the start, merged at the end) and checked against peft. Held-out "
        "exact match and format rate before and after; the model is published for the dpo and grpo labs."
    ),
    lesson_ids=("w20-fine-tuning-lora-distillation", "w20-post-training-rl"),
    config_cls=SFTConfig,
    module="pathway.labs.programs.sft.train",
    expected_seconds={"cpu": 200, "cuda": 60},  # cpu: measured 201 s for a first run (142 s pretraining the base, kept); later ~1 min
    cuda_defaults={"threads": 0},
    chart_metrics=("train/loss", "eval/exact_match", "eval/format_rate"),
    goals=(
        Goal("eval/exact_match", above=GOAL_EXACT,
             why="After SFT at least 60% of the held-out problems must be answered exactly; a model near 0% learned "
                 "the format at best, not the arithmetic (try more steps or pretrain_steps)."),
        Goal("check/lora_merge", above=0.5,
             why="A LoRA model merged into plain weights must give the outputs of the unmerged one "
                 "(within 1e-4 of the largest logit: float32 rounding)."),
        Goal("check/peft_lora", above=0.5, required=False,
             why="The same LoRA built with peft must give our outputs, unmerged and merged, and count the same "
                 "trainable parameters."),
    ),
)
