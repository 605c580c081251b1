"""The real question bank passes the full `pathway content check`, code exercises run."""

from __future__ import annotations

import json

import pytest

from pathway.cli import main
from pathway.content.loader import load_course


@pytest.mark.slow
def test_real_content_passes_the_full_check(capsys) -> None:
    code = main(["content", "check", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [], "\n".join(f"{p['file']} [{p['field']}]: {p['reason']}" for p in report["problems"])
    assert code == 0 and report["ran_code"]


def test_real_bank_ids_are_stable_names() -> None:
    course = load_course()
    for question in course.questions:
        assert question.id.startswith(f"t{question.topic:02d}-")
    assert len({q.id for q in course.questions}) == len(course.questions)


def test_the_bank_covers_every_interview_cluster() -> None:
    """Issue 13's floor on the real bank: at least MIN_PER_CLUSTER questions on each subject interviews concentrate on."""
    from pathway.content.clusters import MIN_PER_CLUSTER, cluster_counts, thin_clusters

    counts = cluster_counts(load_course().questions)
    assert thin_clusters(counts) == [], f"clusters under {MIN_PER_CLUSTER}: {counts}"
