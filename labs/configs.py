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
    steps: int = knob(1000, lo=1, hi=1_000_000, help="optimizer steps; 1000 x 64 samples is ~45 passes over the digits")
    batch_size: int = knob(64, lo=1, hi=65536, help="samples per step; small batches train this model faster on a CPU")
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
