"""A mock interview's report as Markdown: score by topic, time per question, the missed answers."""

from __future__ import annotations

from typing import Any

from pathway.i18n import N_, _

STATUS = {"answered": "", "skipped": N_("skipped"), "timed_out": N_("time ran out"), "not_reached": N_("not reached")}
# An unfinished interview's log cannot tell a skip from a timeout: "skipped" there means either.


def answer_text(question, answer: Any, language: str) -> str:
    """What an answer means, in words (choice texts, numbers with units, items in order)."""
    if question is None or answer is None:
        return "—"
    kind = question.type
    try:
        if kind == "single":
            return question.choices[int(answer)].text.get(language)
        if kind == "multi":
            return "; ".join(question.choices[int(i)].text.get(language) for i in answer) or "—"
        if kind == "numeric":
            return f"{answer} {question.unit}".strip()
        if kind == "order":
            return " → ".join(question.items[int(i)].text.get(language) for i in answer)
    except (IndexError, TypeError, ValueError):
        return str(answer)
    if kind == "code":
        return _("(your code)")
    return str(answer)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(report: dict, course, language: str = "en") -> str:
    score = report["score"]
    lines = [
        "# " + _("Mock interview #{id}: {right} / {total} ({percent}%)").format(
            id=report["mock_id"], right=score["correct"], total=score["total"], percent=f"{score['percent']:g}"
        ),
        "",
        (_("{asked} asked in {seconds:.0f} s; the time ran out before the end.") if report["time_up"] else _("{asked} asked in {seconds:.0f} s.")).format(
            asked=score["asked"], seconds=report["total_seconds"]
        ),
        "",
        "## " + _("Score by topic"),
        "",
        _("| topic | right | asked | score |"),
        "|---|---:|---:|---:|",
    ]
    for topic, entry in sorted(report["by_topic"].items(), key=lambda kv: int(kv[0])):
        found = course.topic(int(topic))
        name = found.title.get(language) if found else _("topic {n}").format(n=topic)
        weak = " " + _("(weak)") if int(topic) in report["weak_topics"] else ""
        lines.append(f"| {_cell(name)}{weak} | {entry['correct']} | {entry['asked']} | {entry['score']:.0%} |")
    lines += ["", "## " + _("Time per question"), "", _("| # | question | seconds | result |"), "|---:|---|---:|---|"]
    for n, item in enumerate(report["items"], 1):
        result = _("right") if item["correct"] else (_(STATUS[item["status"]]) if STATUS[item["status"]] else _("wrong"))
        lines.append(f"| {n} | {item['question_id']} | {item['seconds']:.0f} | {result} |")
    missed = [item for item in report["items"] if not item["correct"]]
    if missed:
        lines += ["", "## " + _("The answers to what you missed"), ""]
    for item in missed:
        question = course.question(item["question_id"])
        if question is None:
            lines += [f"### {item['question_id']}", "", _("This question is no longer in the bank."), ""]
            continue
        lines += [f"### {question.prompt.get(language)}", ""]
        lines.append(_("Your answer: {answer}").format(answer=answer_text(question, item["answer"], language)))
        lines.append("")
        if question.type in ("recall", "design"):
            lines += [_("Model answer: {answer}").format(answer=question.model_answer.get(language)), ""]
        elif question.type == "code":
            lines += ["```python", question.solution.rstrip(), "```", ""]
        else:
            expected = item.get("expected")
            lines += [_("Right answer: **{answer}**").format(answer=answer_text(question, expected, language)), ""]
        lines += [question.explanation.get(language), ""]
    if report["weak_topics"]:
        lines += ["", _("Weak topics were added to your review queue: their cards are due now.")]
    return "\n".join(lines)


def unfinished_markdown(summary: dict, language: str = "en") -> str:
    """An interview that was left: what was saved, and why there is no score."""
    items = summary["items"]
    answered = [item for item in items if item["status"] == "answered"]
    right = sum(bool(item["correct"]) for item in answered)
    when = summary["started_at"].astimezone().strftime("%Y-%m-%d %H:%M")
    lines = [
        "# " + _("Mock interview #{id}: left unfinished").format(id=summary["mock_id"]),
        "",
        (
            _("Started {when}; {answered} of {total} questions answered before it was left, {right} of them right.")
            if answered
            else _("Started {when}; {answered} of {total} questions answered before it was left.")
        ).format(when=when, answered=len(answered), total=len(items), right=right),
        "",
        _(
            "An interview that was left has no score and cannot be resumed: its answers are in your "
            "review history, and a new interview starts from the Quiz menu."
        ),
        "",
        _("| # | question | seconds | result |"),
        "|---:|---|---:|---|",
    ]
    for n, item in enumerate(items, 1):
        if item["status"] == "answered":
            result = _("right") if item["correct"] else _("wrong")
        else:
            result = _(STATUS[item["status"]]) if STATUS.get(item["status"]) else item["status"]
        seconds = f"{item['seconds']:.0f}" if item["status"] != "not_reached" else ""
        lines.append(f"| {n} | {item['question_id']} | {seconds} | {result} |")
    return "\n".join(lines)
