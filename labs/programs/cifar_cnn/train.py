"""CIFAR-10 CNN: a small residual network with batch norm and augmentation (the phase-1 project).

    pathway lab run cifar-cnn                                              # generated CIFAR-format set, offline
    pathway lab run cifar-cnn --set data_dir=~/data/cifar-10-batches-py    # the real python batches
    pathway lab run cifar-cnn --set augment=false                          # ablation: watch it overfit

Data: the CIFAR-10 python batches, read by `cifar_data.load_cifar` from the
folder you name, or a look-alike set of shapes that the lab generates once
into `<pathway home>/cache/` in exactly that format and reads with the same
reader. The log, the final metrics (`data/generated`) and the dashboard's
sample pane say which one is in use.

Model: stem conv -> stages of ResNet basic blocks (conv-BN-ReLU-conv-BN plus a
shortcut; a 1x1 projection where the shape changes) at width, 2x, 4x channels,
halving H and W per stage -> global average pool -> linear. Training: AdamW,
linear warmup then cosine decay, random crop (zero padding) and horizontal flip
on the training batches only, done on whole batches on the device. At the end:
per-class accuracy and the confusion matrix, in the log, in `sample.txt` and
in the final metrics.

The big-data reading: the data set is a compact uint8 table decoded per batch
(like Parquet decoded per query), augmentation is enrichment on the way in,
and the confusion matrix is the per-key breakdown that a total hides.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from pathway.labs.programs.cifar_cnn.data import CifarData, ensure_generated, load_cifar
from pathway.labs.programs.cifar_cnn.spec import CifarCNNConfig as Config  # torch-free, so the TUI form can read it
from pathway.labs.programs.common.torchkit import Checkpoint, pick_device
from pathway.words import count

__all__ = ["Config", "BasicBlock", "ResNet", "augment", "confusion_matrix", "train"]



# --- model -------------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the input (or its 1x1 projection when the shape changes), then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False)  # BN follows: a bias would be cancelled
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        nn.init.zeros_(self.bn2.weight)  # each block starts as the identity: the net starts shallow (Goyal et al.)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """A CIFAR-sized residual CNN: (B, 3, 32, 32) -> (B, n_classes) logits."""

    def __init__(self, n_classes: int = 10, width: int = 16, blocks_per_stage: int = 1, stem_pool: bool = True) -> None:
        super().__init__()
        # stem: 3 -> width channels at 32x32; the optional 2x2 pool halves H and W, the cheapest 4x saving on a CPU
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.pool = nn.MaxPool2d(2) if stem_pool else nn.Identity()
        stages, c_in = [], width
        for i, c_out in enumerate((width, 2 * width, 4 * width)):
            for j in range(blocks_per_stage):
                stride = 2 if (i > 0 and j == 0) else 1  # each new stage halves H and W and doubles channels
                stages.append(BasicBlock(c_in, c_out, stride))
                c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(c_in, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stem(x))  # (B, w, 16, 16) with the stem pool
        x = self.stages(x)  # (B, 4w, 4, 4)
        x = x.mean(dim=(2, 3))  # global average pool -> (B, 4w)
        return self.head(x)  # logits: cross_entropy applies log-softmax itself


# --- data on the device ------------------------------------------------------------------------


def augment(x: torch.Tensor, gen: torch.Generator, pad: int) -> torch.Tensor:
    """Random crop of a zero-padded batch plus a horizontal flip with probability 0.5; (B, C, H, W) in and out.

    One gather for the whole batch (no Python loop over images). Training batches only.
    """
    b, c, h, w = x.shape
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad))  # zeros = the mean after normalization
        off = torch.randint(0, 2 * pad + 1, (b, 2), generator=gen, device=gen.device).to(x.device)
        rows = (off[:, :1] + torch.arange(h, device=x.device))[:, None, :, None]  # (B, 1, H, 1)
        cols = (off[:, 1:] + torch.arange(w, device=x.device))[:, None, None, :]  # (B, 1, 1, W)
        x = padded[torch.arange(b, device=x.device)[:, None, None, None], torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
    flip = (torch.rand(b, generator=gen, device=gen.device) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


class DeviceData:
    """uint8 images on the device, normalized per batch with the training split's per-channel statistics."""

    def __init__(self, data: CifarData, device: torch.device) -> None:
        self.train_x = torch.from_numpy(data.train_x).to(device)  # uint8: 4x smaller than float32
        self.train_y = torch.from_numpy(data.train_y).to(device)
        self.test_x = torch.from_numpy(data.test_x).to(device)
        self.test_y = torch.from_numpy(data.test_y).to(device)
        stats = data.train_x.reshape(len(data.train_x), 3, -1).transpose(1, 0, 2).reshape(3, -1)  # train split only
        self.mean = torch.tensor(stats.mean(axis=1) / 255.0, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(stats.std(axis=1) / 255.0, dtype=torch.float32, device=device).view(1, 3, 1, 1)

    def normalize(self, x_uint8: torch.Tensor) -> torch.Tensor:
        return (x_uint8.float() / 255.0 - self.mean) / self.std


# --- evaluation --------------------------------------------------------------------------------


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """M[i, j] = number of examples of true class i predicted as j (one bincount)."""
    return torch.bincount(target * n_classes + pred, minlength=n_classes * n_classes).view(n_classes, n_classes)


@torch.no_grad()
def evaluate(model: nn.Module, dd: DeviceData, n_classes: int, batch_size: int = 500) -> tuple[float, float, torch.Tensor]:
    """(loss, accuracy, confusion matrix) over the test split, in eval mode (BN uses its running statistics)."""
    model.eval()
    total_loss, preds = 0.0, []
    for i in range(0, len(dd.test_y), batch_size):
        logits = model(dd.normalize(dd.test_x[i:i + batch_size]))
        total_loss += F.cross_entropy(logits, dd.test_y[i:i + batch_size], reduction="sum").item()
        preds.append(logits.argmax(dim=1))
    model.train()
    pred = torch.cat(preds)
    cm = confusion_matrix(pred, dd.test_y, n_classes).cpu()
    return total_loss / len(dd.test_y), (pred == dd.test_y).float().mean().item(), cm


def format_confusion(cm: torch.Tensor, classes: list[str]) -> str:
    """The matrix as text: rows are the true class, columns the prediction, last column per-class accuracy."""
    names = [c[:6] for c in classes]
    lines = ["true \\ pred " + " ".join(f"{n:>6}" for n in names) + "    acc"]
    for i, row in enumerate(cm.tolist()):
        acc = row[i] / max(sum(row), 1)
        lines.append(f"{classes[i][:11]:>11} " + " ".join(f"{v:>6}" for v in row) + f" {acc:>6.1%}")
    return "\n".join(lines)


def write_confusion(report, title: str, cm: torch.Tensor, classes: list[str]) -> None:
    """The latest confusion matrix for the dashboard's sample pane (replaced atomically)."""
    report.write_sample(f"{title}\n{format_confusion(cm, classes)}\n")


# --- training ----------------------------------------------------------------------------------


def lr_at(step: int, config: Config) -> float:
    """Linear warmup to config.lr, then cosine decay to 0: BN and Adam statistics settle before big steps."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(config.steps - config.warmup_steps, 1)
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def load_data(config: Config, cache_dir: Path) -> CifarData:
    """The folder the learner named, or the generated set (written on first use)."""
    if config.data_dir:
        return load_cifar(config.data_dir)
    per_batch = config.generated_train // 5
    root = ensure_generated(cache_dir, per_batch=per_batch, test_size=config.generated_test, seed=config.data_seed)
    return load_cifar(root)


def train(config: Config, report) -> dict[str, float]:
    # --- device and seeds ------------------------------------------------------------------
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    report.log_text(f"cifar-cnn on {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")

    # --- data: compact uint8 on the device, normalized and augmented per batch ------------------------
    t0 = time.perf_counter()
    data = load_data(config, report.cache_dir)
    report.log_text(f"data: {data.description} ({time.perf_counter() - t0:.1f} s)")
    if data.generated:
        report.log_text("note: generated shapes, not CIFAR-10 photos; real CIFAR-10 needs --set data_dir=.../cifar-10-batches-py")
    dd = DeviceData(data, device)
    n_train, n_classes = len(data.train_y), len(data.classes)

    # --- model, optimizer ------------------------------------------------------------------------
    model = ResNet(n_classes, config.width, config.blocks_per_stage, stem_pool=config.stem_pool).to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)  # oneDNN's fast convolution layout on CPU
    n_params = sum(p.numel() for p in model.parameters())
    # weight decay on conv/linear weights only: decaying BN scales and biases only fights the normalization
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=config.lr,
    )
    batch_gen = torch.Generator(device=device).manual_seed(config.seed)  # batch order and augmentation, checkpointed
    report.log_text(f"model: ResNet width {config.width}, {count(config.blocks_per_stage, 'block')} per stage, {n_params:,} parameters; "
                    f"augment={'crop pad %d + flip' % config.crop_pad if config.augment else 'off'}")

    # --- resume: continue the step count from the last checkpoint --------------------------------------
    ckpt = Checkpoint(report, device, model=model, optimizer=optimizer, batch_gen=batch_gen)
    step = ckpt.resume(config.steps)

    # --- the loop ------------------------------------------------------------------------------
    model.train()
    t_mark, samples, correct, seen = time.perf_counter(), 0, 0, 0
    while step < config.steps and not report.should_stop:
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, n_train, (config.batch_size,), device=device, generator=batch_gen)
        x = dd.normalize(dd.train_x[idx])  # (B, 3, 32, 32) float
        if config.augment:
            x = augment(x, batch_gen, config.crop_pad)
        if device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        y = dd.train_y[idx]
        logits = model(x)  # (B, n_classes)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        samples += config.batch_size

        if step % config.log_interval == 0 or step == config.steps:
            correct += (logits.argmax(1) == y).sum().item()  # .item() waits for the device: once per interval
            seen += len(y)
            now = time.perf_counter()
            report.step(step, **{
                "train/loss": loss.item(),
                "train/acc": correct / seen,  # on the (augmented) batches of the logged steps
                "train/lr": lr,
                "train/samples_per_s": samples / max(now - t_mark, 1e-9),
            })
            t_mark, samples, correct, seen = now, 0, 0, 0
        if step % config.eval_interval == 0 or step == config.steps:
            eval_loss, eval_acc, cm = evaluate(model, dd, n_classes)
            report.step(step, **{"eval/loss": eval_loss, "eval/acc": eval_acc})
            report.log_text(f"step {step}/{config.steps}: train loss {loss.item():.4f}, eval loss {eval_loss:.4f}, acc {eval_acc:.2%}")
            write_confusion(report, f"confusion matrix at step {step} ({'generated shapes' if data.generated else 'CIFAR-10'}), eval acc {eval_acc:.1%}", cm, data.classes)
            t_mark = time.perf_counter()  # the evaluation is not training throughput
        if step % config.ckpt_interval == 0:
            ckpt.save(step, config=vars(config))

    # --- stop or finish: save, then the final evaluation and error analysis --------------------------
    ckpt.save(step, config=vars(config))
    eval_loss, eval_acc, cm = evaluate(model, dd, n_classes)
    title = f"confusion matrix at step {step} ({'generated shapes' if data.generated else 'CIFAR-10'}), eval acc {eval_acc:.1%}"
    write_confusion(report, title, cm, data.classes)
    report.log_text(title + ":\n" + format_confusion(cm, data.classes))
    if report.should_stop:
        report.log_text(f"stopped at step {step}; checkpoint saved, `pathway lab resume` continues from here")
    final: dict[str, float] = {
        "step": step, "eval/loss": eval_loss, "eval/acc": eval_acc,
        "data/generated": float(data.generated),  # 1 = the generated shapes, 0 = CIFAR-10 files from data_dir
        "data/n_train": n_train, "data/n_test": len(data.test_y),
    }
    rows = cm.tolist()
    for i, name in enumerate(data.classes):
        final[f"class_acc/{name}"] = rows[i][i] / max(sum(rows[i]), 1)
    for i, true_name in enumerate(data.classes):  # the non-zero cells; absent cells are 0
        for j, pred_name in enumerate(data.classes):
            if rows[i][j]:
                final[f"confusion/{true_name}->{pred_name}"] = rows[i][j]
    return final
