"""The sft lab: supervised fine-tuning on chat-formatted arithmetic, the loss on the assistant's tokens only.

    pathway lab run sft                                    # a few minutes on 2 CPU cores; the first run pretrains the base
    pathway lab run sft --set method=lora --set lr=3e-3    # LoRA adapters instead of every weight
    pathway lab run sft --set batching=pack                # conversations packed end to end
    pathway lab run sft --set base=llama                   # start from the llama lab's published model

The base model is a small llama pretrained here on "a+b=c" lines, from random
weights or from the llama lab's published model (`post_training/base.py`). Each training example is one
conversation in the chat template (`post_training/chat.py`); the loss counts
only the assistant's reply and its <|end|>, not the system or user turns.

Padding or packing, the two ways to batch conversations of different lengths:

- pad: one conversation per row, right-padded to the longest in the batch. The
  padding sits after every real token, so causal attention never lets a real
  token see it and no attention mask is needed; the loss mask drops it. Costs
  the compute of the padding (small here: the rows differ by a few digits).
- pack: conversations laid end to end and cut into rows of pack_len tokens: no
  padding at all, every position trains. The price is that a token attends to
  the end of the previous conversation in its row, which the model must learn
  to ignore; exact packing uses a block-diagonal mask and positions reset per
  conversation (FlashAttention's variable-length kernels), which this model's
  key-padding mask cannot express. A conversation cut at a row's end loses
  its first part's context in the next row.

Full fine-tuning or LoRA (`lora.py`): with method=lora only the adapters and
the new chat-token embedding rows train, and the adapters are merged into the
weights at the end. Either way the run checks that merged LoRA equals unmerged,
and (peft_check) that peft's LoRA on the same modules gives the same outputs
and parameter count (`peft_check.py`). Held-out exact match and format rate
are measured before and after; the model is published for dpo and grpo.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from pathway.labs.programs.common.lm import lr_at
from pathway.labs.programs.common.torchkit import Checkpoint, load_checkpoint, pick_device
from pathway.labs.programs.llama.model import load_weights
from pathway.labs.programs.post_training.base import check_compatible, load_base
from pathway.labs.programs.post_training.chat import Chat
from pathway.labs.programs.post_training.checkpoint import Policy, policy_path, publish_policy
from pathway.labs.programs.post_training.sampling import evaluate
from pathway.labs.programs.post_training.task import Problem, TaskSpec
from pathway.labs.programs.sft import lora
from pathway.labs.programs.sft.spec import GOAL_EXACT
from pathway.labs.programs.sft.spec import SFTConfig as Config  # torch-free, so the TUI form can read it

__all__ = ["Config", "padded_batch", "packed_batch", "assistant_loss", "train", "run_sft"]

MERGE_TOLERANCE = 1e-4  # of the largest logit: a wrong scale or a transposed B A is off by whole units


# --- batches -----------------------------------------------------------------------------------

def padded_batch(chat: Chat, problems: list[Problem]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, targets, weights), each (B, T): one conversation per row, right-padded; weight 1 on assistant targets."""
    rendered = [chat.render(p.question, p.answer) for p in problems]
    width = max(len(ids) for ids, _ in rendered)
    ids = torch.full((len(rendered), width), chat.pad_id, dtype=torch.long)
    mask = torch.zeros((len(rendered), width), dtype=torch.bool)
    for row, (r_ids, r_mask) in enumerate(rendered):
        ids[row, :len(r_ids)] = torch.tensor(r_ids)
        mask[row, :len(r_mask)] = torch.tensor(r_mask)
    # position t predicts token t + 1: the weight belongs to the target, so it is the mask shifted by one
    return ids[:, :-1], ids[:, 1:], mask[:, 1:].float()


def packed_batch(chat: Chat, problems: list[Problem], rows: int, length: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, targets, weights), each (rows, length): conversations end to end, cut into rows; no padding.

    `problems` must hold enough conversations to fill rows x (length + 1) tokens (draw_for_packing).
    """
    need = rows * (length + 1)
    stream, weights = [], []
    for p in problems:
        ids, mask = chat.render(p.question, p.answer)
        stream += ids
        weights += mask
        if len(stream) >= need:
            break
    if len(stream) < need:
        raise ValueError(f"{len(problems)} conversations give {len(stream)} tokens; packing needs {need}")
    ids = torch.tensor(stream[:need]).view(rows, length + 1)
    mask = torch.tensor(weights[:need]).view(rows, length + 1)
    return ids[:, :-1], ids[:, 1:], mask[:, 1:].float()


def assistant_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the targets with weight 1 (the assistant's tokens); prompt and padding add nothing."""
    per_token = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none")
    return (per_token * weights.reshape(-1)).sum() / weights.sum().clamp(min=1.0)


def draw(train: list[Problem], n: int, gen: torch.Generator) -> list[Problem]:
    return [train[i] for i in torch.randint(0, len(train), (n,), generator=gen).tolist()]


# --- the model's parts -------------------------------------------------------------------------

class CheckedModel:
    """The model as a checkpoint part: a saved model of another shape is refused by name."""

    def __init__(self, model: nn.Module, where: Path) -> None:
        self.model, self.where = model, where

    def state_dict(self):
        return self.model.state_dict()

    def load_state_dict(self, state) -> None:
        load_weights(self.model, state, f"the checkpoint {self.where}")


def train_only_new_rows(model: nn.Module, trained_vocab: int) -> int:
    """With LoRA the base is frozen, but the chat tokens' embedding rows are new: train those rows only.

    A gradient hook zeroes the rows the base was trained with; they sit in the
    no-decay group, so AdamW leaves them exactly as they were. Returns the rows' count.
    """
    weight = model.tok_embeddings.weight  # tied: also the output head
    weight.requires_grad_(True)
    keep = torch.zeros_like(weight[:, :1])
    keep[trained_vocab:] = 1.0
    weight.register_hook(lambda grad: grad * keep)
    return (weight.size(0) - trained_vocab) * weight.size(1)


def make_optimizer(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    """AdamW: decay on trainable matrices only (not norms, embeddings or LoRA's adapters)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            plain_matrix = p.dim() == 2 and "tok_embeddings" not in name and "lora_" not in name
            (decay if plain_matrix else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=config.lr, betas=(0.9, 0.95))


@torch.no_grad()
def lora_merge_check(model: nn.Module, config: Config, x: torch.Tensor) -> float:
    """Largest |logit difference| between a LoRA model and its merged copy, relative to the largest |logit| (float32
    rounds W + BA differently from Wx + B(Ax); measured ~5e-6 through two layers). On a full fine-tune, a fresh LoRA with
    random B (so the adapters are not zero) on a copy of the model stands in."""
    if not any(isinstance(m, lora.LoRALinear) for m in model.modules()):
        model = copy.deepcopy(model)
        lora.apply_lora(model, lora.parse_targets(config.lora_targets), config.lora_r, config.lora_alpha)
        for p in lora.lora_parameters(model):
            p.normal_(0, 0.01)  # moves the logits by about one: big enough to see
    model.eval()
    merged = lora.merge_lora(copy.deepcopy(model)).eval()
    unmerged = model(x)
    return float((unmerged - merged(x)).abs().max() / unmerged.abs().max().clamp(min=1.0))


# --- the run -----------------------------------------------------------------------------------

def train(config: Config, report) -> dict[str, float]:
    t_start = time.perf_counter()
    # --- device, seeds, task ------------------------------------------------------------------
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    spec = TaskSpec(digits=config.digits, n_test=config.n_test, seed=config.task_seed)
    split = spec.split()
    report.log_text(f"sft on {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; task: "
                    f"{config.digits}-digit + and -, {len(split.train):,} training problems, {len(split.test)} held out "
                    f"(none shared, nor a+b / b+a twins)")

    # --- base model, then LoRA or full --------------------------------------------------------
    base = load_base(report.cache_dir, device, spec, report.log_text, source=config.base,
                     pretrain_steps=config.pretrain_steps, dim=config.base_dim, n_layers=config.base_layers,
                     vocab_size=config.base_vocab, seed=config.seed, should_stop=lambda: report.should_stop)
    model, chat = base.model, base.chat
    before = evaluate(model, chat, split.test)
    report.log_text(f"before SFT: exact match {before.exact:.1%}, format {before.formatted:.1%} "
                    f"(the base has never seen the chat tokens)")
    if config.method == "lora":
        n_adapters = lora.apply_lora(model, lora.parse_targets(config.lora_targets), config.lora_r, config.lora_alpha)
        n_rows = train_only_new_rows(model, base.trained_vocab)
        n_base = sum(p.numel() for p in model.parameters()) - n_adapters
        report.log_text(f"LoRA r={config.lora_r}, alpha={config.lora_alpha:g} (scale {config.lora_alpha / config.lora_r:g}) "
                        f"on {config.lora_targets}: {n_adapters:,} adapter parameters + {n_rows:,} new embedding-row "
                        f"values train; the base's other {n_base - n_rows:,} stay frozen")
    else:
        report.log_text(f"full fine-tuning: all {sum(p.numel() for p in model.parameters()):,} parameters train")
    model.train()
    optimizer = make_optimizer(model, config)
    batch_gen = torch.Generator().manual_seed(config.seed)

    # --- resume: same base and tokenizer, then the step count continues ----------------------
    extra = {"config": vars(config), "base_args": dataclasses.asdict(base.args), "tokenizer": chat.to_json(),
             "before": {"exact": before.exact, "formatted": before.formatted}}
    if report.resuming:
        saved = load_checkpoint(report.checkpoint_path, device)
        if saved is not None:
            check_compatible(base.args, chat, saved["base_args"], saved["tokenizer"], f"the checkpoint {report.checkpoint_path}")
    ckpt = Checkpoint(report, device, model=CheckedModel(model, report.checkpoint_path), optimizer=optimizer, batch_gen=batch_gen)
    step = ckpt.resume(config.steps)

    def eval_now():
        result = evaluate(model, chat, split.test)
        report.step(step, **{"eval/exact_match": result.exact, "eval/format_rate": result.formatted})
        line = (f"step {step}/{config.steps}: held-out exact match {result.exact:.1%}, format {result.formatted:.1%} "
                f"(before SFT {before.exact:.1%} / {before.formatted:.1%}), {time.perf_counter() - t_start:.0f} s")
        report.log_text(line)
        report.write_sample(result.table(n=16, title=line))
        return result

    if step == 0:
        report.step(0, **{"eval/exact_match": before.exact, "eval/format_rate": before.formatted})

    # --- the loop ----------------------------------------------------------------------------
    t_mark, tokens, trained_tokens = time.perf_counter(), 0, 0
    while step < config.steps and not report.should_stop:
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if config.batching == "pack":
            # a conversation is ~20 tokens: draw what fills the rows with some to spare
            per_row = max(1, config.pack_len // 12 + 1)
            x, y, w = packed_batch(chat, draw(split.train, config.batch_size * per_row, batch_gen), config.batch_size, config.pack_len)
        else:
            x, y, w = padded_batch(chat, draw(split.train, config.batch_size, batch_gen))
        x, y, w = x.to(device), y.to(device), w.to(device)
        loss = assistant_loss(model(x), y, w)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], config.grad_clip)
        optimizer.step()
        step += 1
        tokens += x.numel()
        trained_tokens += int(w.sum())
        if step % config.log_interval == 0 or step == config.steps:
            now = time.perf_counter()
            report.step(step, **{"train/loss": loss.item(), "train/lr": lr,
                                 "train/tokens_per_s": tokens / max(now - t_mark, 1e-9),
                                 "train/assistant_share": trained_tokens / max(tokens, 1)})
            t_mark, tokens, trained_tokens = now, 0, 0
        if step % config.eval_interval == 0 and step < config.steps:
            eval_now()
        if step % config.ckpt_interval == 0:
            ckpt.save(step, **extra)

    # --- stop or finish: save, evaluate, check LoRA, publish ----------------------------------
    ckpt.save(step, **extra)
    after = eval_now()
    model.eval()
    probe = padded_batch(chat, split.test[:8])[0].to(device)
    merge_diff = lora_merge_check(model, config, probe)
    report.log_text(f"LoRA merged vs unmerged: largest logit difference {merge_diff:.1e} of the largest logit "
                    f"({'equal' if merge_diff < MERGE_TOLERANCE else 'DIFFERENT'} within {MERGE_TOLERANCE:g})")
    final = {"step": step, "eval/exact_match": after.exact, "eval/format_rate": after.formatted,
             "before/exact_match": before.exact, "before/format_rate": before.formatted,
             "check/lora_merge": float(merge_diff < MERGE_TOLERANCE), "check/lora_merge_rel_diff": merge_diff}
    if config.peft_check:
        from pathway.labs.programs.sft.peft_check import compare_with_peft

        final.update(compare_with_peft(model, config, probe, report.log_text))
    if config.method == "lora":
        lora.merge_lora(model)  # one matmul per layer again; dpo and grpo get a plain llama
    if config.publish and not report.should_stop:
        # a run that misses the goal does not replace a published model (dpo and grpo would start weaker); the first
        # one is published anyway, so they always find a model
        if after.exact > GOAL_EXACT or not policy_path(report.cache_dir).exists():
            policy = Policy(model=model, args=base.args, chat=chat, task=spec, run_id=report.run_id,
                            metrics={k: v for k, v in final.items() if k.startswith(("eval/", "before/"))})
            path = publish_policy(policy, report.cache_dir, report.run_id)
            report.log_text(f"published to {path} for the dpo and grpo labs")
        else:
            report.log_text(f"not published: {after.exact:.1%} misses the goal, so the model already in "
                            f"{policy_path(report.cache_dir)} stays the one dpo and grpo start from")
    wall = time.perf_counter() - t_start
    verdict = "meets" if after.exact > GOAL_EXACT else "misses"
    report.log_text(f"done in {wall:.0f} s: held-out exact match {before.exact:.1%} -> {after.exact:.1%}, format "
                    f"{before.formatted:.1%} -> {after.formatted:.1%}; {verdict} the goal of > {GOAL_EXACT:.0%}")
    if report.should_stop:
        report.log_text(f"stopped at step {step}; checkpoint saved, `pathway lab resume` continues from here")
    report.write_sample(after.table(n=16, title=f"after SFT (step {step}); before SFT: exact match {before.exact:.1%}, "
                                    f"format {before.formatted:.1%}"))
    return {**final, "wall_s": wall}


def run_sft(overrides: dict, cache_dir: Path, device, log, *, should_stop=lambda: False) -> tuple[Policy, dict]:
    """An sft run outside the runner (dpo/grpo when nothing is published, bench/post_training.py): (policy, final metrics).

    Its checkpoint and sample go to cache_dir/sft/run, its log lines to `log`. It publishes when nothing was published
    yet or it meets the goal; the policy returned is the published one (this run's, unless it missed and another stays).
    """
    from pathway.labs import catalog
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.post_training.checkpoint import load_policy

    class ForwardingReport(LocalReport):
        def log_text(self, message: str) -> None:
            super().log_text(message)
            log(f"[sft] {message}")

        @property
        def should_stop(self) -> bool:
            return should_stop()

        @should_stop.setter
        def should_stop(self, value) -> None:  # LocalReport.__init__ sets it; the caller's flag decides
            pass

    device = torch.device(device)
    config = catalog.build_config("sft", {"device": str(device), **overrides, "publish": True}, cuda=device.type == "cuda")
    report = ForwardingReport(Path(cache_dir) / "sft" / "run", cache_dir=cache_dir, device=str(device))
    final = train(config, report)
    policy = load_policy(cache_dir, device)
    if policy is None:
        from pathway.errors import PathwayError

        raise PathwayError("The sft run was stopped before it published a model; run it again to completion.")
    return policy, final
