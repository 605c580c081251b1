"""The interview clusters: the subjects 2025–26 LLM interviews concentrate on, counted by tag.

A question counts toward a cluster when it carries any of the cluster's tags. The
checker prints the counts beside the coverage matrix, and a test holds the real bank
to MIN_PER_CLUSTER questions in each (a small fixture bank is not held to it), so
the bank cannot drift back to pre-LLM basics.
"""

from __future__ import annotations

from typing import Iterable

MIN_PER_CLUSTER = 10

CLUSTERS: dict[str, frozenset[str]] = {
    "GRPO/RLVR": frozenset({"grpo", "rlvr", "dapo"}),
    "PPO/RLHF": frozenset({"ppo", "rlhf"}),
    "reward models": frozenset({"reward-model"}),
    "MoE": frozenset({"moe"}),
    "MLA/KV compression": frozenset({"mla", "kv-compression"}),
    "long context": frozenset({"long-context"}),
    "agents/MCP": frozenset({"agents", "function-calling", "mcp", "prompt-injection"}),
    "eval/hallucination": frozenset({"llm-eval", "hallucination"}),
    "VLM": frozenset({"vlm"}),
    "stability/optimizers": frozenset({"training-stability", "optimizers"}),
}


def cluster_counts(questions: Iterable) -> dict[str, int]:
    """Questions per cluster, in the table's order."""
    questions = list(questions)
    return {name: sum(bool(tags & set(q.tags)) for q in questions) for name, tags in CLUSTERS.items()}


def thin_clusters(counts: dict[str, int]) -> list[str]:
    """The clusters below the floor, as 'name (n)'."""
    return [f"{name} ({n})" for name, n in counts.items() if n < MIN_PER_CLUSTER]
