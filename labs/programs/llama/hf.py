"""The same model as `transformers.LlamaForCausalLM`: a config and a weight copy, nothing downloaded.

    hf = to_hf(model)                          # LlamaForCausalLM with our weights, eval mode, eager attention
    hf(input_ids=tokens).logits                # equals model(tokens) to ~1e-5 in fp32

Our rotate-half RoPE is the layout Hugging Face uses, so the weights copy over
as they are (Meta's interleaved checkpoints need a row permutation of wq and wk
first: see `model.interleaved_permutation`).
"""

from __future__ import annotations

import torch

from pathway.labs.programs.llama.model import Llama, ModelArgs

__all__ = ["hf_config", "to_hf", "hf_state_dict"]


def hf_config(args: ModelArgs, attn_implementation: str = "eager"):
    """A LlamaConfig of the same shape: no biases, SiLU gate, default RoPE at our theta."""
    from transformers import LlamaConfig

    config = LlamaConfig(
        vocab_size=args.vocab_size, hidden_size=args.dim, intermediate_size=args.ffn_hidden,
        num_hidden_layers=args.n_layers, num_attention_heads=args.n_heads, num_key_value_heads=args.n_kv_heads,
        head_dim=args.head_dim, max_position_embeddings=args.max_seq_len, rms_norm_eps=args.norm_eps,
        rope_parameters={"rope_type": "default", "rope_theta": args.rope_theta},
        tie_word_embeddings=args.tie_embeddings, attention_bias=False, mlp_bias=False, hidden_act="silu",
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
    )
    config._attn_implementation = attn_implementation
    return config


def hf_state_dict(model: Llama) -> dict[str, torch.Tensor]:
    """Our parameter names -> Hugging Face's (w1 is the gate, w3 the up projection, w2 the down projection)."""
    names = {"tok_embeddings.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    per_layer = {"attention.wq": "self_attn.q_proj", "attention.wk": "self_attn.k_proj", "attention.wv": "self_attn.v_proj",
                 "attention.wo": "self_attn.o_proj", "feed_forward.w1": "mlp.gate_proj", "feed_forward.w3": "mlp.up_proj",
                 "feed_forward.w2": "mlp.down_proj", "attention_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
    out = {}
    for name, tensor in model.state_dict().items():
        if name in names:
            out[names[name]] = tensor
            continue
        _, i, rest = name.split(".", 2)  # layers.<i>.<module>.weight
        module = rest.rsplit(".", 1)[0]
        out[f"model.layers.{i}.{per_layer[module]}.weight"] = tensor
    return out


def to_hf(model: Llama, attn_implementation: str = "eager"):
    """A LlamaForCausalLM holding copies of our weights, on the same device and dtype, in eval mode."""
    from transformers import LlamaForCausalLM

    param = next(model.parameters())
    hf = LlamaForCausalLM(hf_config(model.args, attn_implementation))
    state = hf_state_dict(model)
    if model.args.tie_embeddings:
        state.pop("lm_head.weight")  # tied: the head is the embedding matrix, loaded once
    missing, unexpected = hf.load_state_dict(state, strict=False)
    missing = [m for m in missing if not (model.args.tie_embeddings and m == "lm_head.weight")]
    if missing or unexpected:
        raise RuntimeError(f"weight names do not line up with LlamaForCausalLM: missing {missing}, unexpected {unexpected}")
    return hf.to(device=param.device, dtype=param.dtype).eval()
