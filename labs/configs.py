"""The config dataclass of each lab: every setting, its default, its range and why it exists.

They live apart from the lab modules because the lab modules import torch at
the top (they read like nanoGPT), and the TUI's settings form must not. The
defaults are sized for a 2-core CPU; `catalog.LabSpec.cuda_defaults` holds the
larger values the runner uses when the lab lands on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.labs.knobs import knob

DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d+)?"


@dataclass
class MLPDigitsConfig:
    """SimpleNN (input -> hidden -> ReLU -> classes) on 8x8 digits or MNIST."""

    # data
    data_dir: str = knob(
        "",
        path=True,
        help="folder with the MNIST IDX files (train-images-idx3-ubyte[.gz], ...); "
        "empty = scikit-learn's bundled 8x8 digits, so nothing is downloaded",
    )
    test_fraction: float = knob(
        0.2, lo=0.05, hi=0.5,
        help="share of the digits held out for eval (MNIST brings its own 10k test set)",
    )
    # model
    hidden: int = knob(256, lo=1, hi=16384, help="width of the one hidden layer; 256 fits 8x8 digits in under a second per epoch on CPU")
    # optimization
    steps: int = knob(1000, lo=1, hi=1_000_000, help="optimizer steps; 1000 x 128 samples is ~90 passes over the digits")
    batch_size: int = knob(
        128, lo=1, hi=65536,
        help="samples per step; 128 costs about what 64 does on a CPU and held >= 97% on 16 of 16 seeds (64: 15 of 16)",
    )
    lr: float = knob(3e-3, lo=1e-7, hi=10.0, help="Adam's peak learning rate, decayed to 0 on a cosine; too high diverges")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="fixes the split, the initial weights and the batch order: same seed, same curve")
    # logging and checkpoints
    log_interval: int = knob(10, lo=1, hi=100_000, help="steps between train-loss reports; each report syncs the device once")
    eval_interval: int = knob(100, lo=1, hi=1_000_000, help="steps between evaluations on the held-out set")
    ckpt_interval: int = knob(250, lo=1, hi=1_000_000, help="steps between checkpoints; a killed run resumes from the last one")
    # where it runs
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU; or name one: cpu, cuda, cuda:1, mps")
    threads: int = knob(
        1, lo=0, hi=1024,
        help="CPU threads for torch; 0 = torch's choice (one per core). This model's matrices are too small "
        "to gain from more than 1, and extra threads stall badly when other work shares the cores",
    )
    # drills
    inject_nan_at: int = knob(0, lo=0, hi=1_000_000, help="fault drill: the loss turns NaN at this step, to see how a diverged run looks; 0 = off")

    def check(self) -> None:
        """File-system checks that --set cannot express as a range."""
        if self.data_dir:
            from pathway.labs.idx import find_mnist_files  # numpy only

            find_mnist_files(self.data_dir)


@dataclass
class CifarCNNConfig:
    """A small residual CNN with batch norm and augmentation on CIFAR-10 or the generated CIFAR-format set."""

    # data
    data_dir: str = knob(
        "",
        path=True,
        help="the unpacked cifar-10-batches-py folder (data_batch_1..5, test_batch, batches.meta); "
        "empty = a CIFAR-format set of shapes that pathway generates once into its cache, so nothing is downloaded",
    )
    generated_train: int = knob(10_000, lo=50, hi=500_000, help="training images of the generated set (5 batch files); more costs generation time once, not step time")
    generated_test: int = knob(2000, lo=10, hi=100_000, help="test images of the generated set")
    data_seed: int = knob(0, lo=0, hi=2**31 - 1, help="seed of the generated set: same seed, same images (cached per seed and size)")
    # model
    width: int = knob(16, lo=4, hi=512, help="channels of the first stage (then 2x, 4x); 16 is the CIFAR ResNet family's width")
    blocks_per_stage: int = knob(1, lo=1, hi=18, help="basic blocks per stage; 3 gives ResNet-20's depth at 3x the step time")
    stem_pool: bool = knob(True, help="2x2 max-pool after the stem: 4x fewer pixels for every block, the big saving on a CPU; off for real CIFAR-10 on a GPU")
    # augmentation
    augment: bool = knob(True, help="random crop + horizontal flip on training batches; off is the overfitting ablation")
    crop_pad: int = knob(
        2, lo=0, hi=16,
        help="zero padding before the random 32x32 crop: shifts of up to this many pixels. The generated shapes reach "
        "the border, so 2; 4 is the usual choice for real CIFAR-10 photos",
    )
    # optimization
    steps: int = knob(600, lo=1, hi=10_000_000, help="optimizer steps; 600 x 128 images is ~8 passes over the 10k generated images")
    batch_size: int = knob(128, lo=2, hi=65536, help="images per step; BN needs a few per class, and 128 keeps a CPU step under ~0.2 s")
    lr: float = knob(5e-3, lo=1e-7, hi=10.0, help="AdamW's peak learning rate after warmup, decayed to 0 on a cosine; BN lets a small net take 5e-3")
    warmup_steps: int = knob(30, lo=1, hi=1_000_000, help="linear warmup steps: early updates are noisy while BN and Adam statistics settle")
    weight_decay: float = knob(5e-2, lo=0.0, hi=10.0, help="AdamW's decoupled weight decay on conv and linear weights (not BN or biases); 0 is the other ablation")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="fixes the initial weights, the batch order and the augmentation: same seed, same curve")
    # logging and checkpoints
    log_interval: int = knob(10, lo=1, hi=100_000, help="steps between train-loss reports; each report syncs the device once")
    eval_interval: int = knob(100, lo=1, hi=1_000_000, help="steps between evaluations on the test split (and a fresh confusion matrix)")
    ckpt_interval: int = knob(200, lo=1, hi=1_000_000, help="steps between checkpoints; a killed run resumes from the last one")
    # where it runs
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU; or name one: cpu, cuda, cuda:1, mps")
    threads: int = knob(
        1, lo=0, hi=1024,
        help="CPU threads for torch; 0 = torch's choice (one per core). Measured on 2 shared cores: 1 thread ran this "
        "model at ~90 ms/step, 2 threads at 0.5-2 s/step, because each thread waits for the slowest at every layer",
    )

    def check(self) -> None:
        """File-system checks that --set cannot express as a range."""
        if self.data_dir:
            from pathway.labs.cifar_data import find_cifar_files  # numpy only

            find_cifar_files(self.data_dir)
        if self.generated_train % 5:
            from pathway.errors import PathwayError

            raise PathwayError(f"generated_train={self.generated_train} must be a multiple of 5: it is split over 5 batch files like CIFAR-10's.")


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


def _cpu_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers narrow), not the machine's total."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@dataclass
class DDPConfig:
    """Data-parallel training launched through torchrun, checked against one process on the same global batch."""

    # the launch
    nproc: int = knob(2, lo=1, hi=256, help="processes (ranks) on this node: one per GPU on CUDA; on CPU at most one per core, or ranks fight for cores")
    strategy: str = knob(
        "ddp", pattern=r"ddp|fsdp", hint="ddp or fsdp",
        help="ddp: every rank holds the whole model, gradients are all-reduced. fsdp: parameters, gradients and "
        "optimizer state are sharded across ranks (FSDP2 fully_shard); needs CUDA",
    )
    backend: str = knob("auto", pattern=r"auto|gloo|nccl", hint="auto, gloo or nccl", help="collective library: auto = NCCL on CUDA, gloo on CPU")
    nnodes: int = knob(1, lo=1, hi=4096, help="machines in the job; more than 1 needs rdzv_endpoint and this lab started on every node with its node_rank")
    node_rank: int = knob(0, lo=0, hi=4095, help="this machine's index, 0 .. nnodes-1; node 0 hosts the rendezvous, rank 0 and the checkpoint")
    rdzv_endpoint: str = knob(
        "", pattern=r"|[A-Za-z0-9_.\-]+:\d{1,5}|\[[0-9A-Fa-f:.]+\]:\d{1,5}", hint="empty or host:port",
        help="host:port of node 0 that every node can reach (multi-node). Empty = this machine on a free port picked "
        "at launch, so two jobs never clash (torchrun's fixed defaults 29500 / 29400 do)",
    )
    # model and data (scikit-learn's bundled digits: 1437 train / 360 test, 64 features)
    hidden: int = knob(256, lo=1, hi=16384, help="width of the MLP's two hidden layers; small on purpose: the lab is about the exchange, not the model")
    steps: int = knob(600, lo=1, hi=10_000_000, help="optimizer steps; 600 x 64 samples is ~27 epochs of the digits (~10 s of training on 2 cores)")
    global_batch: int = knob(64, lo=1, hi=1_000_000, help="samples per step over all ranks, held fixed so every rank count trains the same model; each rank gets global_batch / world size")
    lr: float = knob(1e-3, lo=1e-7, hi=10.0, help="Adam's learning rate; the same for any rank count because the global batch is fixed")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="initial weights and the sampler's shuffle; every rank uses the same seed, so every rank computes the same permutation")
    set_epoch: bool = knob(True, help="call DistributedSampler.set_epoch each epoch; off = every epoch replays epoch 0's order (the bug to recognize)")
    equiv_check: bool = knob(True, help="rank 0 also trains the model alone on each whole global batch and reports the loss difference; off = pure timing")
    # logging and checkpoints
    log_interval: int = knob(10, lo=1, hi=100_000, help="steps between reports: loss, per-rank step and all-reduce time")
    eval_interval: int = knob(50, lo=1, hi=1_000_000, help="steps between evaluations on the held-out digits and refreshes of the per-rank table (sample.txt)")
    ckpt_interval: int = knob(100, lo=1, hi=1_000_000, help="steps between checkpoints, written by rank 0 only")
    # where it runs
    device: str = knob("auto", pattern=r"auto|cpu|cuda", hint="auto, cpu or cuda", help="auto = CUDA when torch sees it (rank r uses GPU r of its node), else CPU")
    threads: int = knob(1, lo=1, hi=1024, help="torch threads per rank (OMP_NUM_THREADS); ranks x threads should not exceed the cores")

    def check(self) -> None:
        """Cross-field checks that --set cannot express as a range (CUDA-dependent ones run at launch)."""
        from pathway.errors import PathwayError

        if self.device == "cpu":
            if self.strategy == "fsdp":
                raise PathwayError(fsdp_needs_cuda("device=cpu was chosen"))
            if self.nproc > _cpu_cores():
                raise PathwayError(too_many_ranks(self.nproc, _cpu_cores()))
        if self.backend == "nccl" and self.device == "cpu":
            raise PathwayError("backend=nccl runs collectives on CUDA tensors only; on CPU use backend=gloo (or auto).")
        world = self.nproc * self.nnodes
        if self.global_batch % world:
            raise PathwayError(f"global_batch={self.global_batch} must divide evenly over {world} rank(s) "
                               f"(nproc {self.nproc} x nnodes {self.nnodes}): equal shards are what make the averaged gradient exact.")
        if self.node_rank >= self.nnodes:
            raise PathwayError(f"node_rank={self.node_rank} must be below nnodes={self.nnodes} (nodes are numbered 0 .. nnodes-1).")
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise PathwayError(f"nnodes={self.nnodes} needs rdzv_endpoint=HOST:PORT: the address of node 0 that every node can reach, "
                               "with a port you choose for this job. Start the lab on every node with its own node_rank.")


def fsdp_needs_cuda(why: str) -> str:
    return (f"strategy=fsdp needs CUDA, and {why}. FSDP shards parameters, gradients and optimizer state to fit models "
            "that one GPU cannot hold; this lab runs it on GPUs with NCCL only. Use strategy=ddp here.")


def too_many_ranks(nproc: int, cores: int) -> str:
    return (f"nproc={nproc} is more than the {cores} CPU core(s) this process may use. On CPU each rank needs a core of its "
            f"own; extra ranks take turns and wait for each other at every all-reduce. Use nproc={cores} or fewer.")


@dataclass
class MixedPrecisionConfig:
    """One model trained side by side in fp32 and under autocast (bf16; fp16 with and without GradScaler on CUDA)."""

    variants: str = knob(
        "auto", pattern=r"auto|(fp32|bf16|fp16|fp16-noscale)(,(fp32|bf16|fp16|fp16-noscale))*",
        hint="auto or a list like fp32,bf16,fp16",
        help="auto = fp32,bf16 on CPU; fp32,bf16,fp16,fp16-noscale on CUDA. fp16 = autocast fp16 + GradScaler, "
        "fp16-noscale = the bug (no scaler). fp16 on CPU works but is slow: a demonstration only",
    )
    # model: a residual MLP (pre-LayerNorm blocks, as in a Transformer's MLP half) on a teacher-labelled task
    dim: int = knob(256, lo=8, hi=65536, help="width of the residual stream; matmul-heavy enough that the dtype matters")
    blocks: int = knob(4, lo=1, hi=256, help="residual blocks (LayerNorm -> Linear 4x -> GELU -> Linear); each is a checkpointing unit")
    classes: int = knob(10, lo=2, hi=100_000, help="classes of the synthetic task (labels from a fixed random teacher network)")
    # optimization
    steps: int = knob(200, lo=1, hi=10_000_000, help="optimizer steps of every variant; the variants take turns step by step, so machine noise hits all alike")
    batch_size: int = knob(256, lo=1, hi=1_000_000, help="samples per step")
    lr: float = knob(1e-3, lo=1e-7, hi=10.0, help="AdamW's learning rate, the same for every variant")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="same seed: every variant starts from the same weights and sees the same batches")
    # fp16 loss scaling
    init_scale: float = knob(65536.0, lo=1.0, hi=2.0**40, help="GradScaler's starting loss scale (2^16 is torch's default); 2^24 forces early overflows and skipped steps")
    growth_interval: int = knob(
        100, lo=1, hi=1_000_000,
        help="clean steps before GradScaler doubles the scale; torch's default is 2000, 100 makes the sawtooth visible in a short run",
    )
    # memory
    checkpointing: bool = knob(False, help="activation checkpointing per block: stores each block's input only and recomputes the rest in backward (less memory, ~1/3 more compute)")
    # logging and checkpoints
    log_interval: int = knob(10, lo=1, hi=100_000, help="steps between reports; each report syncs the device once")
    ckpt_interval: int = knob(100, lo=1, hi=1_000_000, help="steps between checkpoints of all variants; a killed run resumes from the last one")
    # where it runs
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU; or name one: cpu, cuda, cuda:1, mps")
    threads: int = knob(1, lo=0, hi=1024, help="CPU threads for torch; 0 = torch's choice. 1 measures steadily on shared cores")


@dataclass
class InferenceOptConfig:
    """Sentence embeddings with MiniLM: a naive loop, the seed's OptimizedInference, the fixed pipeline."""

    sentences: int = knob(256, lo=8, hi=100_000, help="sentences cut from the lessons, the same set for every variant (varied lengths)")
    batch_size: int = knob(
        16, lo=1, hi=4096,
        help="the batch size where the fixed pipeline, the seed and sentence-transformers are compared. On one CPU "
        "core 16 measured fastest: bigger batches spill the activations out of cache (64: -30%, 128: -50%)",
    )
    max_batch_tokens: int = knob(
        768, lo=0, hi=10_000_000,
        help="dynamic batching, timed as its own variant: length-sorted sentences are packed until rows x longest "
        "reaches this many tokens (0 = skip it). 768 was the best budget on a 2-core CPU: +10% over batches of 16 "
        "in a focused A/B, within the noise of the lab's comparison",
    )
    batch_sizes: str = knob(
        "1,2,4,8,16,32,64", pattern=r"\d+(,\d+)*", hint="comma-separated whole numbers, e.g. 1,8,32",
        help="the latency/throughput sweep of the fixed pipeline (x axis of the chart), sorted and unsorted",
    )
    repeats: int = knob(3, lo=1, hi=100, help="alternating repeats of the comparison; medians are reported, so one slow pass on a shared machine does not decide")
    slow_sentences: int = knob(64, lo=1, hi=100_000, help="every k-th sentence, this many, for the slow variants (naive loop, fp16 seed): same length mix, less waiting")
    max_length: int = knob(256, lo=8, hi=512, help="truncate longer inputs to this many word pieces, as sentence-transformers does for this model")
    precision: str = knob(
        "auto", pattern=r"auto|fp32|bf16|fp16", hint="auto, fp32, bf16 or fp16",
        help="the fixed pipeline's dtype: auto = bf16/fp16 weights on CUDA; on CPU fp32 weights with bf16 autocast "
        "only if the CPU has native bf16 and a timed trial shows it faster. fp16 on CPU is the seed's mistake",
    )
    compare_st: bool = knob(True, help="also run sentence-transformers encode() at the same batch size and dtype, for speed and agreement")
    run_seed: bool = knob(True, help="also run the seed's OptimizedInference as written (fp16 on CPU is slow; it is timed on slow_sentences)")
    decode: bool = knob(
        True,
        help="also the generation side (week 18): a small random-weight GPT-2 decoding greedily with and without its "
        "KV cache, at each of batch_sizes, and with int8 weights",
    )
    decode_tokens: int = knob(96, lo=4, hi=4096, help="tokens generated per decode measurement; the no-cache run grows quadratically with it")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="which sentences are picked")
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU")
    threads: int = knob(
        0, lo=0, hi=1024,
        help="CPU threads for torch; 0 = torch's choice (one per core). Every variant runs with the same count, so the "
        "ratios are fair; batching is what lets the extra cores help (one sentence is too small a matrix to split)",
    )

    def check(self) -> None:
        """The sweep must hold at least one batch size of 1 or more."""
        from pathway.errors import PathwayError

        sizes = [int(s) for s in self.batch_sizes.split(",")]
        if min(sizes) < 1 or max(sizes) > 4096:
            raise PathwayError(f"batch_sizes={self.batch_sizes!r}: each must be 1 to 4096.")
