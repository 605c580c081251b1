"""The char-transformer lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free: the TUI imports this; the training program is `train.py` beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec, MemoryEstimate
from pathway.labs.engine.settings import DEVICE_PATTERN, knob


@dataclass
class CharTransformerConfig:
    """A small decoder-only Transformer (GPT-2 layout) trained on the lessons and the stdlib source."""

    # model
    backend: str = knob(
        "scratch", pattern=r"scratch|hf", hint="scratch or hf",
        help="scratch = our own MultiHeadAttention and blocks; hf = the same-size GPT2LMHeadModel built from a "
        "GPT2Config (random weights, nothing downloaded). Same data, loss and loop, so the curves compare",
    )
    attention: str = knob(
        "manual", pattern=r"sdpa|manual", hint="sdpa or manual",
        help="scratch backend (hf uses GPT-2's own), after our head split: manual = softmax(QK^T/sqrt(d)) with an explicit causal mask; "
        "sdpa = the fused F.scaled_dot_product_attention kernel, same numbers. On CPU in bf16 manual measured 1.6x "
        "faster per step (the fused CPU backward is slow in bf16); on a GPU sdpa runs FlashAttention",
    )
    n_layer: int = knob(
        3, lo=1, hi=96,
        help="Transformer blocks. In a 3-minute CPU budget 3 beat 4: each step is ~20% cheaper, so more steps fit "
        "(measured 1.52 nats/char with 3 layers x 1450 steps vs 1.63 with 4 x 1150, same wall time)",
    )
    n_head: int = knob(4, lo=1, hi=128, help="attention heads; n_embd must divide by it (head size = n_embd / n_head)")
    n_embd: int = knob(128, lo=8, hi=8192, help="width of the residual stream; 128 keeps a step near 0.1 s on one CPU core")
    block_size: int = knob(128, lo=8, hi=8192, help="context length in tokens; attention cost grows with its square")
    dropout: float = knob(0.0, lo=0.0, hi=0.9, help="off by default: a short run sees 10 MB of text once at most and cannot overfit")
    # data
    tokenizer: str = knob(
        "char", pattern=r"char|bpe", hint="char or bpe",
        help="char = one id per character (98 ids); bpe = byte-level BPE trained by the tokenizers package on "
        "the training text. Loss is also reported per character so the two compare",
    )
    bpe_vocab: int = knob(1024, lo=257, hi=65536, help="BPE vocabulary size (256 byte ids + merges); bigger = fewer, rarer tokens")
    corpus_chars: int = knob(
        8_000_000, lo=10_000, hi=200_000_000,
        help="training characters read: English lessons (at most a tenth), then stdlib files in a fixed hash order until the cap. "
        "Held-out stdlib files (one in twenty) are always the validation set",
    )
    # optimization
    steps: int = knob(1400, lo=1, hi=10_000_000, help="optimizer steps; 1400 x 16 x 128 = 2.9M tokens, 2.5-3 minutes on 2 busy CPU cores")
    batch_size: int = knob(
        16, lo=1, hi=4096,
        help="sequences per step (16 x 128 = 2048 tokens). In a 3-minute budget more, smaller steps beat fewer big ones: "
        "measured 1.81 nats/char with 800 x 16 vs 1.93 with 400 x 32",
    )
    lr: float = knob(4e-3, lo=1e-6, hi=1.0, help="AdamW peak learning rate; a 0.6M-parameter model tolerates a large one (measured: 4e-3 beat 2e-3)")
    warmup_steps: int = knob(50, lo=0, hi=1_000_000, help="linear warmup: Adam's early updates are noisy until its moment estimates settle")
    weight_decay: float = knob(0.1, lo=0.0, hi=1.0, help="AdamW decay on matrices (not biases, norms or embeddings)")
    grad_clip: float = knob(1.0, lo=0.0, hi=1000.0, help="clip the global gradient norm; 0 = off. Keeps one bad batch from undoing training")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="fixes the weights, the batch order and the samples")
    # evaluation and samples
    eval_interval: int = knob(350, lo=1, hi=1_000_000, help="steps between validation passes and samples (each costs about a second on CPU)")
    eval_windows: int = knob(64, lo=1, hi=100_000, help="held-out windows per evaluation (64 x 128 = 8k characters); the same ones each time, so the curve is smooth")
    sample_chars: int = knob(200, lo=0, hi=100_000, help="tokens generated at each evaluation into sample.txt and the log; 0 = none")
    temperature: float = knob(0.8, lo=0.01, hi=10.0, help="sampling temperature: below 1 sharper and more repetitive, above 1 more random")
    prompt: str = knob("def ", help="text the samples start from; characters outside the vocabulary become the unknown id")
    log_interval: int = knob(10, lo=1, hi=100_000, help="steps between train-loss reports")
    ckpt_interval: int = knob(500, lo=1, hi=10_000_000, help="steps between checkpoints; a killed run resumes from the last one")
    # where it runs
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU")
    threads: int = knob(
        1, lo=0, hi=1024,
        help="CPU threads for torch; 0 = torch's choice. On 2 shared cores a second thread mostly waits for the "
        "first: measured 2-4x slower per step when other work runs",
    )
    precision: str = knob(
        "auto", pattern=r"auto|fp32|bf16", hint="auto, fp32 or bf16",
        help="bf16 autocast runs the matmuls in bfloat16 with fp32 weights; auto = bf16 where the hardware has it "
        "natively (AVX512-BF16/AMX CPUs, Ampere+ GPUs: about 2x the matmul rate), else fp32",
    )

    def check(self) -> None:
        """Cross-field checks that a range cannot express."""
        from pathway.errors import PathwayError

        if self.n_embd % self.n_head:
            raise PathwayError(
                f"n_embd={self.n_embd} must be divisible by n_head={self.n_head}: each head gets n_embd / n_head "
                f"features. Try n_head={next(h for h in (8, 4, 2, 1) if self.n_embd % h == 0)}."
            )

    def vocab_size(self) -> int:
        return self.bpe_vocab if self.tokenizer == "bpe" else CHAR_VOCAB

    def goals(self) -> tuple[Goal, ...]:
        """Below chance: a uniform guess over the vocabulary costs ln(vocab) nats per token."""
        chance = math.log(self.vocab_size())
        return (Goal("eval/loss", below=chance,
                     why=f"A uniform guess over {self.vocab_size()} tokens scores ln({self.vocab_size()}) = {chance:.2f} nats; "
                     "the default run reaches ~1.5. Lower lr."),)

    def memory_estimate(self) -> MemoryEstimate:
        """AdamW on 12 d^2 per layer + the embeddings, plus what backward keeps of one batch.

        Per layer and token ~16 d numbers (layer norms, q k v, the MLP's 4d twice) and, with
        attention written out, 3 scores per head and key (scores, softmax, mask); the logits
        (vocab per token) are kept three times (logits, log-softmax, their gradient).
        """
        from pathway.labs.engine.memory import training_bytes

        d, T, vocab = self.n_embd, self.block_size, self.vocab_size()
        params = 12 * self.n_layer * d * d + vocab * d + T * d
        tokens = self.batch_size * T
        attention = 0 if self.attention == "sdpa" else 3 * self.n_head * T
        activations = tokens * (self.n_layer * (16 * d + attention) + 3 * vocab)
        corpus = self.corpus_chars * 3  # the text, then its ids (int16 per character, copied once)
        return MemoryEstimate(training_bytes(params, activations + corpus / 4),
                              "batch_size, block_size (attention grows with its square), n_embd or n_layer")


CHAR_VOCAB = 98  # corpus.CharTokenizer: newline, tab, the 95 printable ASCII characters, unknown


SPEC = LabSpec(
    id="char-transformer",
    title="Transformer text generation: a small GPT on the lessons and the Python stdlib",
    description=(
        "The phase-2 project: a decoder-only Transformer (GPT-2 layout) with attention written out "
        "((B, T, C) -> (B, T, H, d) -> (B, H, T, d), causal mask), trained character by character on "
        "pathway's lessons and the Python standard library source, scored on held-out stdlib files. "
        "Samples appear as it learns. --set backend=hf trains the same-size GPT2LMHeadModel; "
        "--set tokenizer=bpe a byte-level BPE."
    ),
    lesson_ids=("w10-attention", "w12-lm-pretraining"),
    config_cls=CharTransformerConfig,
    module="pathway.labs.programs.char_transformer.train",
    expected_seconds={"cpu": 170, "cuda": 120},
    # on a GPU: GPT-2-small-like width and a longer context cost little per step
    cuda_defaults={"n_layer": 6, "n_head": 6, "n_embd": 384, "block_size": 256, "batch_size": 64, "steps": 5000,
                   "lr": 1e-3, "dropout": 0.1, "eval_windows": 256, "threads": 0, "attention": "sdpa"},
    chart_metrics=("eval/bpb", "train/loss", "eval/loss"),  # bits per byte first: the compare view overlays it with llama's
)
