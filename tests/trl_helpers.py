"""The smallest real TRL trainers, built offline: a tiny LlamaForCausalLM from a config and a word-level tokenizer.

TRL computes its DPO and GRPO losses inside trainer methods (`DPOTrainer.compute_loss`,
`GRPOTrainer.compute_loss`) from a batch and the model, not from log-probabilities
alone, so the tests build a real trainer and hand it a batch; our losses get the
same model's log-probabilities. Nothing is downloaded: the model is saved to and
loaded from a temporary folder (GRPOTrainer rebuilds its reference from that path).
"""

from __future__ import annotations

from pathlib import Path

import torch

VOCAB = 40
PAD, EOS = 1, 2


def tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel({f"t{i}": i for i in range(VOCAB)}, unk_token="t0"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token=f"t{PAD}", eos_token=f"t{EOS}", unk_token="t0")


def tiny_model(folder: Path, seed: int):
    """A two-layer Llama with random weights, saved under `folder` and loaded back (its config then names that path)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64)
    LlamaForCausalLM(config).save_pretrained(folder)
    return LlamaForCausalLM.from_pretrained(folder).float()


def grads(model) -> dict[str, torch.Tensor]:
    """Every parameter's gradient (cloned), then cleared."""
    out = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out


def assert_same_grads(ours: dict, theirs: dict, atol: float = 1e-6) -> None:
    assert ours.keys() == theirs.keys() and ours
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], atol=atol, rtol=1e-5, msg=name)
