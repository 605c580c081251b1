"""Answer cues in choice questions: a learner must not find the key by its length.

    figures = length_cues(questions)      # per language: share of keys that are strictly longest, ratios
    problems = cue_problems(figures)      # what breaks the gates below

Lengths are characters of each option's text, in English and in Chinese alike.
Single choice: the share of questions whose key is strictly longer than every
distractor (bank-wide and per topic), and the median over questions of the key's
length divided by the mean distractor length. Multiple choice: the median of the
mean correct length over the mean wrong length.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

LONGEST_SHARE_MAX = 0.30  # chance with 4 options is 25%
LONGEST_SHARE_MAX_TOPIC = 0.40
SINGLE_RATIO_MAX = 1.15
MULTI_RATIO_MAX = 1.20
BANK_MIN_SAMPLE = 20  # below this many choice questions (a test fixture) the figures mean little
TOPIC_MIN_SAMPLE = 5  # likewise for one topic's single-choice questions


@dataclass
class LanguageCues:
    single: int = 0
    key_longest: int = 0
    single_ratio: float = 0.0  # median key / mean distractor length
    multi: int = 0
    multi_ratio: float = 0.0  # median mean-correct / mean-wrong length
    longest_by_topic: dict[int, tuple[int, int]] = field(default_factory=dict)  # topic -> (key longest, single)

    @property
    def longest_share(self) -> float:
        return self.key_longest / self.single if self.single else 0.0


def length_cues(questions) -> dict[str, LanguageCues]:
    """The length figures of every single- and multi-choice question, per language."""
    out = {}
    for lang in ("en", "zh"):
        single_ratios, multi_ratios = [], []
        by_topic: dict[int, list[bool]] = defaultdict(list)
        for q in questions:
            if q.type not in ("single", "multi"):
                continue
            right = [len(c.text.get(lang)) for c in q.choices if c.correct]
            wrong = [len(c.text.get(lang)) for c in q.choices if not c.correct]
            if not right or not wrong or not statistics.mean(wrong):
                continue
            ratio = statistics.mean(right) / statistics.mean(wrong)
            if q.type == "single":
                single_ratios.append(ratio)
                by_topic[q.topic].append(right[0] > max(wrong))
            else:
                multi_ratios.append(ratio)
        out[lang] = LanguageCues(
            single=len(single_ratios),
            key_longest=sum(sum(flags) for flags in by_topic.values()),
            single_ratio=statistics.median(single_ratios) if single_ratios else 0.0,
            multi=len(multi_ratios),
            multi_ratio=statistics.median(multi_ratios) if multi_ratios else 0.0,
            longest_by_topic={t: (sum(f), len(f)) for t, f in sorted(by_topic.items())},
        )
    return out


def cue_problems(figures: dict[str, LanguageCues]) -> list[str]:
    """One sentence per broken gate."""
    problems = []
    for lang, cues in figures.items():
        if cues.single + cues.multi < BANK_MIN_SAMPLE:
            continue
        if cues.single and cues.longest_share > LONGEST_SHARE_MAX:
            problems.append(f"[{lang}] the key is the strictly longest option in {cues.key_longest} of {cues.single} "
                            f"single-choice questions ({cues.longest_share:.0%}; at most {LONGEST_SHARE_MAX:.0%})")
        for topic, (longest, total) in cues.longest_by_topic.items():
            if total >= TOPIC_MIN_SAMPLE and longest / total > LONGEST_SHARE_MAX_TOPIC:
                problems.append(f"[{lang}] topic {topic}: the key is the strictly longest option in {longest} of {total} "
                                f"single-choice questions ({longest / total:.0%}; at most {LONGEST_SHARE_MAX_TOPIC:.0%})")
        if cues.single and cues.single_ratio > SINGLE_RATIO_MAX:
            problems.append(f"[{lang}] single choice: the median key is {cues.single_ratio:.2f}x the length of a distractor "
                            f"(at most {SINGLE_RATIO_MAX})")
        if cues.multi and cues.multi_ratio > MULTI_RATIO_MAX:
            problems.append(f"[{lang}] multiple choice: the median correct option is {cues.multi_ratio:.2f}x the length of a "
                            f"wrong one (at most {MULTI_RATIO_MAX})")
    return problems


def summary(figures: dict[str, LanguageCues]) -> dict:
    """JSON-able figures for the coverage output."""
    return {lang: {"single": c.single, "key_longest_share": round(c.longest_share, 3), "single_ratio": round(c.single_ratio, 3),
                   "multi": c.multi, "multi_ratio": round(c.multi_ratio, 3)} for lang, c in figures.items()}
