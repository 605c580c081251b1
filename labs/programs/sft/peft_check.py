"""Our LoRA against peft's on the same modules: equal outputs at initialisation, unmerged and merged; equal counts.

    final.update(compare_with_peft(model, config, probe_ids, report.log_text))

peft (https://huggingface.co/docs/peft) is what practitioners use for LoRA, so
agreeing with it is the check that `lora.py` is the LoRA everyone means. Only
the sft lab's train.py imports this module (peft is not needed anywhere else).
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from pathway.labs.programs.sft import lora

__all__ = ["compare_with_peft", "TOLERANCE"]

TOLERANCE = 1e-4


def _plain_and_adapters(model: nn.Module, config) -> tuple[nn.Module, dict[str, tuple[torch.Tensor, torch.Tensor]]]:
    """The model without adapters, and the adapters by module path (A, B): the trained ones of a LoRA run, else random."""
    ours = copy.deepcopy(model)
    if not any(isinstance(m, lora.LoRALinear) for m in ours.modules()):  # a full fine-tune: adapters to compare with
        lora.apply_lora(ours, lora.parse_targets(config.lora_targets), config.lora_r, config.lora_alpha)
        gen = torch.Generator().manual_seed(0)
        for p in lora.lora_parameters(ours):
            p.data = torch.randn(p.shape, generator=gen).to(p.device) * 0.05
    adapters = {name: (m.lora_A.detach().clone(), m.lora_B.detach().clone())
                for name, m in ours.named_modules() if isinstance(m, lora.LoRALinear)}
    plain = copy.deepcopy(ours)
    for parent in list(plain.modules()):  # unwrap: the frozen base Linear, without the update
        for child_name, child in list(parent.named_children()):
            if isinstance(child, lora.LoRALinear):
                setattr(parent, child_name, child.base)
    return plain, adapters


@torch.no_grad()
def compare_with_peft(model: nn.Module, config, x: torch.Tensor, log) -> dict[str, float]:
    """Metrics check/peft_lora (1.0 when all agree), the largest difference and both trainable counts."""
    from peft import LoraConfig, LoraModel

    targets = lora.parse_targets(config.lora_targets)
    plain, adapters = _plain_and_adapters(model, config)
    plain.eval()
    base_out = plain(x)

    # at initialisation (B = 0) both are the base model exactly
    fresh = copy.deepcopy(plain)
    n_ours = lora.apply_lora(fresh, targets, config.lora_r, config.lora_alpha)
    peft_config = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, target_modules=list(targets),
                             lora_dropout=0.0, bias="none")
    theirs = LoraModel(copy.deepcopy(plain), peft_config, "default").eval()
    n_peft = sum(p.numel() for p in theirs.parameters() if p.requires_grad)
    diffs = {"init_ours": float((fresh.eval()(x) - base_out).abs().max()),
             "init_peft": float((theirs(x) - base_out).abs().max())}

    # the same A and B in both: unmerged, then merged
    for name, module in theirs.model.named_modules():
        if name in adapters:
            a, b = adapters[name]
            module.lora_A["default"].weight.copy_(a)  # peft's lora_A is a Linear(d_in, r): weight (r, d_in), as ours
            module.lora_B["default"].weight.copy_(b)
    for name, module in fresh.named_modules():
        if name in adapters:
            module.lora_A.copy_(adapters[name][0])
            module.lora_B.copy_(adapters[name][1])
    ours_out = fresh(x)
    diffs["unmerged"] = float((ours_out - theirs(x)).abs().max())
    ours_merged = lora.merge_lora(copy.deepcopy(fresh)).eval()
    theirs_merged = theirs.merge_and_unload().eval()
    diffs["merged"] = float((ours_merged(x) - theirs_merged(x)).abs().max())
    moved = float((ours_out - base_out).abs().max())  # the adapters must change the outputs, or the comparison is empty

    worst = max(diffs.values())
    ok = worst < TOLERANCE and n_ours == n_peft and moved > 1e-3
    log(f"peft {peft_lora_version()} LoRA on {','.join(targets)} (r={config.lora_r}, alpha={config.lora_alpha:g}): "
        f"trainable parameters ours {n_ours:,}, peft {n_peft:,}; largest logit difference at init "
        f"{max(diffs['init_ours'], diffs['init_peft']):.1e}, unmerged {diffs['unmerged']:.1e}, merged {diffs['merged']:.1e} "
        f"(the adapters move the logits by {moved:.2f}) -> {'agree' if ok else 'DISAGREE'}")
    return {"check/peft_lora": float(ok), "check/peft_max_abs_diff": worst,
            "lora/trainable_ours": float(n_ours), "lora/trainable_peft": float(n_peft)}


def peft_lora_version() -> str:
    import peft

    return peft.__version__
