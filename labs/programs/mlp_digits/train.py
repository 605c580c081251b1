"""First MLP: the plan's SimpleNN on handwritten digits.

    pathway lab run mlp-digits                                   # bundled 8x8 digits, a few seconds on 2 cores
    pathway lab run mlp-digits --set data_dir=~/mnist --set steps=3000   # real MNIST IDX files

An MLP (input -> hidden -> ReLU -> classes) trained with Adam and cross-entropy
on raw logits. The whole data set fits in memory, so a batch is a random index
into tensors already on the device: no DataLoader, no workers.

The big-data reading: every step is a tiny batch job. Read a sample of the
partition (the batch), compute (forward), compare with the ground truth (the
loss), and write back an update (backward + optimizer step). Evaluation is a
read-only job over the held-out table.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn

from pathway.labs.programs.common import digits
from pathway.labs.programs.mlp_digits.spec import MLPDigitsConfig as Config  # torch-free, so the TUI form can read it
from pathway.labs.programs.common.torchkit import Checkpoint, pick_device

__all__ = ["Config", "SimpleNN", "load_data", "train"]


class SimpleNN(nn.Module):
    """input -> hidden -> ReLU -> classes. Returns logits: CrossEntropyLoss applies log-softmax itself."""

    def __init__(self, n_in: int, n_hidden: int, n_classes: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, n_in) -> (B, n_hidden) -> (B, n_classes)
        return self.fc2(torch.relu(self.fc1(x)))


def load_data(config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): float32 features standardized with train statistics, int64 labels."""
    if config.data_dir:
        from pathway.labs.programs.common.idx import find_mnist_files, read_idx

        files = find_mnist_files(config.data_dir)
        x_tr = read_idx(files["train_images"]).reshape(-1, 28 * 28).astype(np.float32) / 255.0
        y_tr = read_idx(files["train_labels"]).astype(np.int64)
        x_te = read_idx(files["test_images"]).reshape(-1, 28 * 28).astype(np.float32) / 255.0
        y_te = read_idx(files["test_labels"]).astype(np.int64)
    else:  # scikit-learn's bundled 8x8 digits, 1797 of them
        x_tr, y_tr, x_te, y_te = digits.split(config.seed, config.test_fraction)
    x_tr, x_te = digits.standardize(x_tr, x_te)
    return x_tr, y_tr, x_te, y_te


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module) -> tuple[float, float]:
    """(loss, accuracy) over a whole split, in eval mode."""
    model.eval()
    logits = model(x)  # (N, n_classes)
    loss = loss_fn(logits, y).item()
    acc = (logits.argmax(dim=1) == y).float().mean().item()
    model.train()
    return loss, acc


def lr_at(step: int, config: Config) -> float:
    """Cosine decay from config.lr to 0: big steps early, fine ones at the end."""
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * step / config.steps))


def train(config: Config, report) -> dict[str, float]:
    # --- device and seeds ------------------------------------------------------
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    report.log_text(f"mlp-digits on {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")

    # --- data: all of it on the device, once -----------------------------------------
    x_tr, y_tr, x_te, y_te = (torch.from_numpy(a).to(device) for a in load_data(config))
    n_train, n_in = x_tr.shape
    n_classes = int(max(y_tr.max().item(), y_te.max().item())) + 1
    report.log_text(f"data: {n_train} train / {len(x_te)} test samples, {n_in} features, {n_classes} classes")

    # --- model, optimizer, loss ----------------------------------------------------
    model = SimpleNN(n_in, config.hidden, n_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = nn.CrossEntropyLoss()  # takes raw logits; a softmax before it would be applied twice
    batch_gen = torch.Generator(device=device).manual_seed(config.seed)  # batch order, saved in checkpoints

    # --- resume: continue the step count from the last checkpoint ----------------------
    ckpt = Checkpoint(report, device, model=model, optimizer=optimizer, batch_gen=batch_gen)
    step = ckpt.resume(config.steps)

    # --- the loop ----------------------------------------------------------------------
    model.train()
    t_mark, samples = time.perf_counter(), 0
    while step < config.steps and not report.should_stop:
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, n_train, (config.batch_size,), device=device, generator=batch_gen)
        logits = model(x_tr[idx])  # (B, n_classes)
        loss = loss_fn(logits, y_tr[idx])
        if step + 1 == config.inject_nan_at:
            loss = loss * float("nan")  # the drill: NaN flows into every gradient and weight
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        samples += config.batch_size

        if step % config.log_interval == 0 or step == config.steps:
            now = time.perf_counter()
            report.step(step, **{
                "train/loss": loss.item(),  # .item() waits for the device: once per interval, not per step
                "train/lr": lr,
                "train/samples_per_s": samples / max(now - t_mark, 1e-9),
            })
            t_mark, samples = now, 0
        if step % config.eval_interval == 0 or step == config.steps:
            eval_loss, eval_acc = evaluate(model, x_te, y_te, loss_fn)
            report.step(step, **{"eval/loss": eval_loss, "eval/acc": eval_acc})
            report.log_text(f"step {step}/{config.steps}: train loss {loss.item():.4f}, eval loss {eval_loss:.4f}, acc {eval_acc:.2%}")
        if step % config.ckpt_interval == 0:
            ckpt.save(step, config=vars(config))

    # --- stop or finish: save, then a last evaluation -------------------------------------
    ckpt.save(step, config=vars(config))
    eval_loss, eval_acc = evaluate(model, x_te, y_te, loss_fn)
    if report.should_stop:
        report.log_text(f"stopped at step {step}; checkpoint saved, `pathway lab resume` continues from here")
    return {"step": step, "eval/loss": eval_loss, "eval/acc": eval_acc}
