"""The llama lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free: the TUI imports this; the model is `model.py` and the training program `train.py` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec, MemoryEstimate
from pathway.labs.engine.settings import DEVICE_PATTERN, knob


@dataclass
class LlamaConfig:
    """A small Llama-style decoder (RMSNorm, RoPE, SwiGLU, GQA, no biases) on the course's BPE tokens."""

    # model
    dim: int = knob(128, lo=8, hi=8192, help="width of the residual stream")
    n_layers: int = knob(4, lo=1, hi=128, help="decoder blocks")
    n_heads: int = knob(4, lo=1, hi=128, help="query heads; dim must divide by it (head_dim = dim / n_heads, even for RoPE)")
    n_kv_heads: int = knob(
        2, lo=1, hi=128,
        help="key/value heads (grouped-query attention): n_heads must divide by it. = n_heads is plain multi-head "
        "attention, 1 is multi-query; the KV cache shrinks by n_heads / n_kv_heads",
    )
    ffn_hidden: int = knob(0, lo=0, hi=65536, help="SwiGLU hidden width; 0 = Llama's 2/3 of 4 x dim rounded up to 16 (the parameters of a 4x GELU MLP)")
    block_size: int = knob(128, lo=8, hi=8192, help="context length in tokens; a BPE token holds ~3 bytes of code, so 128 tokens see ~3x the text of the char lab")
    rope_theta: float = knob(10000.0, lo=1.0, hi=1e9, help="RoPE base: the slowest of the head_dim/2 rotations turns once every ~2 pi theta positions")
    tie_embeddings: bool = knob(True, help="share one matrix between the token embedding and the output head (saves vocab x dim parameters)")
    attention: str = knob(
        "manual", pattern=r"sdpa|manual", hint="sdpa or manual",
        help="manual = softmax(QK^T/sqrt(d)) written out; sdpa = F.scaled_dot_product_attention (FlashAttention on a GPU). "
        "Same numbers; on CPU in bf16 manual measured 0.19 s per step against sdpa's 0.27 (the fused CPU backward is slow)",
    )
    # data
    vocab_size: int = knob(
        2048, lo=257, hi=65536,
        help="BPE vocabulary: 256 bytes + merges + <|endoftext|>. The tokenizer is trained once per size on the course "
        "corpus (the bpe-tokenizer lab's code) and kept in the home's cache",
    )
    corpus_chars: int = knob(
        8_000_000, lo=10_000, hi=200_000_000,
        help="training characters read (lessons, then stdlib files), as in char-transformer; the same held-out stdlib files are validation",
    )
    # optimization
    steps: int = knob(
        750, lo=1, hi=10_000_000,
        help="optimizer steps; 750 x 16 x 128 = 1.5M tokens (~4.6 MB of text), about 2.5 minutes on 2 busy CPU cores",
    )
    batch_size: int = knob(16, lo=1, hi=4096, help="sequences per step")
    lr: float = knob(3e-3, lo=1e-6, hi=1.0, help="AdamW peak learning rate")
    warmup_steps: int = knob(50, lo=0, hi=1_000_000, help="linear warmup: Adam's early updates are noisy until its moment estimates settle")
    weight_decay: float = knob(0.1, lo=0.0, hi=1.0, help="AdamW decay on matrices (not norms or the embedding)")
    grad_clip: float = knob(1.0, lo=0.0, hi=1000.0, help="clip the global gradient norm; 0 = off")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="fixes the weights, the batch order and the samples")
    # evaluation and samples
    eval_interval: int = knob(250, lo=1, hi=1_000_000, help="steps between validation passes and samples")
    eval_windows: int = knob(64, lo=1, hi=100_000, help="held-out windows per evaluation, the same ones each time")
    sample_tokens: int = knob(120, lo=0, hi=100_000, help="tokens generated (with the KV cache) at each evaluation into the sample pane; 0 = none")
    temperature: float = knob(0.8, lo=0.01, hi=10.0, help="sampling temperature: below 1 sharper, above 1 more random")
    prompt: str = knob("def ", help="text the samples start from")
    log_interval: int = knob(10, lo=1, hi=100_000, help="steps between train-loss reports")
    ckpt_interval: int = knob(500, lo=1, hi=10_000_000, help="steps between checkpoints; a killed run resumes from the last one")
    publish: bool = knob(True, help="at the end, save the model to the home's cache for the kv-cache lab (llama/latest.pt)")
    # where it runs
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU")
    threads: int = knob(1, lo=0, hi=1024, help="CPU threads for torch; 0 = torch's choice (on 2 shared cores one thread is faster)")
    precision: str = knob(
        "auto", pattern=r"auto|fp32|bf16", hint="auto, fp32 or bf16",
        help="bf16 autocast for the matmuls (weights stay fp32); auto = bf16 where the hardware runs it natively, else fp32",
    )

    def check(self) -> None:
        """Cross-field checks that a range cannot express."""
        from pathway.errors import PathwayError

        if self.dim % self.n_heads:
            raise PathwayError(
                f"dim={self.dim} must be divisible by n_heads={self.n_heads}: each head gets dim / n_heads features."
            )
        if self.n_heads % self.n_kv_heads:
            fits = [k for k in range(self.n_heads, 0, -1) if self.n_heads % k == 0 and k <= self.n_kv_heads]
            raise PathwayError(
                f"n_heads={self.n_heads} must be divisible by n_kv_heads={self.n_kv_heads}: each key/value head serves "
                f"the same number of query heads. Try n_kv_heads={fits[0] if fits else 1}."
            )
        if (self.dim // self.n_heads) % 2:
            raise PathwayError(
                f"head_dim = dim / n_heads = {self.dim // self.n_heads} must be even: RoPE rotates pairs of dimensions. "
                "Change dim or n_heads."
            )

    def memory_estimate(self) -> MemoryEstimate:
        """AdamW on the blocks (q and o d^2 each, k and v d·kv_dim, SwiGLU 3·d·hidden) and the embeddings,
        plus what backward keeps of one batch: per layer and token ~(8 d + 3 hidden) numbers, with
        attention written out 3 scores per head and key, and the logits three times."""
        from pathway.labs.engine.memory import training_bytes

        d, T, hidden = self.dim, self.block_size, self.ffn_hidden or 16 * -(-(8 * self.dim // 3) // 16)
        kv_dim = d // self.n_heads * self.n_kv_heads
        per_layer = 2 * d * d + 2 * d * kv_dim + 3 * d * hidden
        params = self.n_layers * per_layer + self.vocab_size * d * (1 if self.tie_embeddings else 2)
        tokens = self.batch_size * T
        attention = 0 if self.attention == "sdpa" else 3 * self.n_heads * T
        activations = tokens * (self.n_layers * (8 * d + 3 * hidden + attention) + 3 * self.vocab_size)
        corpus = self.corpus_chars * 3  # the text, then its token ids
        return MemoryEstimate(training_bytes(params, activations + corpus / 4),
                              "batch_size, block_size (attention grows with its square), dim or n_layers")


SPEC = LabSpec(
    id="llama",
    title="A Llama-style model: RMSNorm, RoPE, SwiGLU and grouped-query attention on BPE tokens",
    description=(
        "The modern decoder block written out (RMSNorm, rotary positions, SwiGLU, grouped-query attention, "
        "no biases, tied head), trained on the course tokenizer's byte-level BPE tokens over the same text "
        "and held-out stdlib files as char-transformer, scored in bits per byte so the two compare. At the end "
        "its weights are copied into transformers' LlamaForCausalLM and the logits must agree; the model is "
        "then published for the kv-cache lab."
    ),
    lesson_ids=("w11-transformer-block", "w16-scaling-the-generator"),
    config_cls=LlamaConfig,
    module="pathway.labs.programs.llama.train",
    expected_seconds={"cpu": 150, "cuda": 150},  # cpu: measured 146 s for the defaults on 2 busy cores
    cuda_defaults={"dim": 384, "n_layers": 6, "n_heads": 6, "n_kv_heads": 2, "block_size": 256, "batch_size": 64,
                   "steps": 4000, "lr": 1e-3, "eval_windows": 256, "threads": 0, "attention": "sdpa"},
    chart_metrics=("eval/bpb", "train/bpb"),
    goals=(
        Goal("check/hf_logits", above=0.5,
             why="The trained weights copied into transformers' LlamaForCausalLM must give the same logits (within 1e-4): "
             "a mismatch means the model is not the Llama architecture it claims."),
        Goal("eval/bpb", below=8.0,
             why="8 bits per byte is the cost of storing the raw bytes; a language model that does not beat it learned nothing."),
    ),
)
