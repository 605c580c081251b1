"""The mlp-digits lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free: the TUI imports this; the training program is `train.py` beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec, MemoryEstimate
from pathway.labs.engine.settings import DEVICE_PATTERN, knob


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
            from pathway.labs.programs.common.idx import find_mnist_files  # numpy only

            find_mnist_files(self.data_dir)

    def memory_estimate(self) -> MemoryEstimate:
        """Adam on the two layers, one batch's activations, the whole data set and one eval pass over the test split."""
        from pathway.labs.engine.memory import training_bytes

        n_in, n_train, n_test = (784, 60_000, 10_000) if self.data_dir else (64, 1437, 360)
        params = n_in * self.hidden + self.hidden + self.hidden * 10 + 10
        activations = self.batch_size * (n_in + 2 * self.hidden + 20) + n_test * (self.hidden + 10)
        data = (n_train + n_test) * n_in
        return MemoryEstimate(training_bytes(params, activations + data), "hidden or batch_size")

CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over ten classes: 2.30 nats


SPEC = LabSpec(
    id="mlp-digits",
    title="First MLP: SimpleNN on handwritten digits",
    description=(
        "The plan's first exercise: an MLP (input -> hidden -> ReLU -> classes) trained with Adam "
        "and cross-entropy on scikit-learn's bundled 8x8 digits, or on real MNIST IDX files with "
        "--set data_dir=DIR. Watch train and eval loss fall and accuracy pass 97%."
    ),
    lesson_ids=("w04-first-mlp",),
    config_cls=MLPDigitsConfig,
    module="pathway.labs.programs.mlp_digits.train",
    # default config, launch to finish: 5.6-8.4 s measured on 2 busy CPU cores; the CUDA figure is a guess
    expected_seconds={"cpu": 8, "cuda": 6},
    # on a GPU a bigger batch and layer cost nothing extra per step
    cuda_defaults={"batch_size": 256, "hidden": 1024, "lr": 2e-3},
    # the default run reaches ~97% and an eval loss near 0.1; at lr=10 it blew up to a loss of 1.87e4
    goals=(
        Goal("eval/acc", above=0.5, why="Chance is 10% for ten digits; a trained MLP reaches ~97%. Lower lr or train longer."),
        Goal("eval/loss", below=CHANCE_LOSS, why="A uniform guess scores ln(10) = 2.30 nats. Lower lr."),
    ),
)
