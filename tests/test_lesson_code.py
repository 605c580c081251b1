"""Every ```python block of every shipped lesson runs on CPU, in order, one namespace per lesson."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from pathway.content.loader import load_course

LESSONS = load_course().lessons

RUNNER = textwrap.dedent(
    """
    import json, sys, traceback
    blocks = json.load(sys.stdin)
    namespace = {"__name__": "__lesson__"}
    for line, code in blocks:
        try:
            exec(compile(code, f"lesson block at line {line}", "exec"), namespace)
        except Exception:
            traceback.print_exc()
            sys.exit(f"block at line {line} failed")
    """
)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_lesson_code_runs(lesson, tmp_path) -> None:
    import json

    blocks = [(b.line, b.code) for b in lesson.code_blocks if b.skip is None]
    if not blocks:
        pytest.skip("no runnable code blocks")
    result = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2"},
    )
    assert result.returncode == 0, f"{lesson.path}:\n{result.stderr[-3000:]}"


def test_every_lesson_week_one_to_four_has_code() -> None:
    early = [lesson for lesson in LESSONS if lesson.meta.week <= 4]
    assert early, "weeks 1-4 have lessons"
    missing = [lesson.id for lesson in early if not any(b.skip is None for b in lesson.code_blocks)]
    assert missing == []
