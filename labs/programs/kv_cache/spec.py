"""The kv-cache lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free: the TUI imports this; the program is `train.py` beside it, the generation code `generate.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec
from pathway.labs.engine.settings import DEVICE_PATTERN, knob

PROMPT_SEPARATOR = "|"


@dataclass
class KVCacheConfig:
    """Generate from the llama lab's model with a KV cache, check it against recomputation, and time both."""

    prompts: str = knob(
        "def |import |class Config:|The attention", hint="prompts separated by |",
        help="prompts separated by '|', generated as one left-padded batch (they differ in length on purpose). "
        "Each must fit the model's context together with max_new_tokens",
    )
    max_new_tokens: int = knob(96, lo=2, hi=8192, help="tokens generated per prompt, cached and uncached; the uncached pass costs grow with its square")
    temperature: float = knob(
        0.8, lo=0.0, hi=10.0,
        help="for the sampled texts (the check always decodes greedily): logits / temperature. 0 = greedy; "
        "below 1 sharper, above 1 more random",
    )
    top_k: int = knob(50, lo=0, hi=1_000_000, help="sampled texts keep only the k most likely tokens; 0 = off")
    top_p: float = knob(0.95, lo=0.01, hi=1.0, help="sampled texts keep the fewest most likely tokens whose probabilities reach p (nucleus sampling); 1 = off")
    rounds: int = knob(3, lo=1, hi=100, help="timed repeats of the cached and uncached greedy runs; medians are reported, so one slow pass on a shared machine does not decide")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="fixes the sampled texts (a torch.Generator) and, when a model must be trained first, its weights")
    # the fallback model, trained only when no llama run has published one
    fallback_steps: int = knob(
        200, lo=1, hi=1_000_000,
        help="when no llama run has published a model, the lab first trains a small llama for this many steps "
        "(about a minute on 2 CPU cores: measured 92 s for 300); run the llama lab for a better one",
    )
    fallback_context: int = knob(
        256, lo=16, hi=8192,
        help="context (max_seq_len) of that fallback model; prompt + max_new_tokens must fit in it",
    )
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU")
    threads: int = knob(
        1, lo=0, hi=1024,
        help="CPU threads for torch; 0 = torch's choice. One thread keeps the cached/uncached ratio steady on a shared machine",
    )

    def prompt_list(self) -> list[str]:
        """The prompts, in order; separators at the ends do not make empty prompts."""
        return [p for p in self.prompts.split(PROMPT_SEPARATOR) if p.strip()]

    def check(self) -> None:
        """What can be refused before launch: no prompt, or no room for one in the fallback model's context."""
        from pathway.errors import PathwayError

        prompts = self.prompt_list()
        if not prompts:
            raise PathwayError(
                f"prompts={self.prompts!r} holds no prompt. Give at least one, several separated by '{PROMPT_SEPARATOR}'."
            )
        if self.max_new_tokens >= self.fallback_context:
            raise PathwayError(
                f"max_new_tokens={self.max_new_tokens} leaves no room for a prompt in fallback_context={self.fallback_context}. "
                f"Lower max_new_tokens below {self.fallback_context}, or raise fallback_context."
            )
        # How many tokens a prompt is, and the context of the published model, are known only once both are
        # loaded: a prompt that does not fit is refused at generation, before any token is made (generate.check_fits).

SPEC = LabSpec(
    id="kv-cache",
    title="Inference engine: a KV cache for the llama model, greedy and sampled decoding",
    description=(
        "Week 18: generation with the llama lab's model (trained briefly first if no llama run has published one). "
        "Prefill, then decode one token at a time from a preallocated KV cache; greedy, temperature, top-k and top-p "
        "sampling; several prompts batched with left padding, an attention mask and position ids. The run checks "
        "that cached greedy decoding equals recomputing the whole prefix token for token, and charts tokens/s, "
        "per-token latency and cache bytes over the generated tokens."
    ),
    lesson_ids=("w18-serving-optimization",),
    config_cls=KVCacheConfig,
    module="pathway.labs.programs.kv_cache.train",
    expected_seconds={"cpu": 60, "cuda": 30},  # the first run, which trains the fallback model; later ones ~10 s
    cuda_defaults={"threads": 0},
    chart_metrics=("decode/ms_per_token", "uncached/ms_per_token", "decode/tokens_per_s", "cache/kib"),
    chart_x_label="tokens generated",
    goals=(
        Goal("check/cache_equals_recompute", above=0.5,
             why="greedy decoding from the KV cache must give exactly the tokens of recomputing the whole prefix; "
                 "a difference means a cache slot, the mask or the position ids are wrong"),
    ),
)
