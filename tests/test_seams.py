"""The bugs that sat where the architecture's seams met, each pinned by a test that failed before the new layout."""

from __future__ import annotations

import ast
import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from pathway.errors import PathwayError
from pathway.labs import catalog
from pathway.labs.engine.reporter import Diverged, Reporter, is_loss
from pathway.tui.app import make_app
from tui_helpers import open_mode

REPO = Path(__file__).resolve().parent.parent


# --- 1. cross-field checks run on the config that runs ---------------------------------------------


def test_cuda_runs_check_cross_field_rules_on_the_cuda_defaults():
    # the GPU config has n_head=6 and n_embd=384: 256 does not split over 6 heads, 3 heads do split 384
    with pytest.raises(PathwayError, match="n_embd=256 must be divisible by n_head=6"):
        catalog.parse_set("char-transformer", ["n_embd=256"], cuda=True)
    assert catalog.parse_set("char-transformer", ["n_head=3"], cuda=True) == {"n_head": 3}
    # and the CPU config (n_embd=128, n_head=4) keeps its own rules
    with pytest.raises(PathwayError, match="n_embd=128 must be divisible by n_head=3"):
        catalog.parse_set("char-transformer", ["n_head=3"], cuda=False)
    assert catalog.build_config("char-transformer", {"n_head": 3}, cuda=True).n_embd == 384


def test_starting_a_run_on_a_gpu_machine_checks_the_gpu_config(engine, home, monkeypatch):
    from pathway.labs.engine import jobs

    monkeypatch.setenv("PATHWAY_GPU", "fake:1")  # NVML stand-in: one GPU, so device=auto means CUDA
    with pytest.raises(PathwayError, match="n_embd=256 must be divisible by n_head=6"):
        jobs.start(engine, home, "char-transformer", {"n_embd": "256"})
    assert jobs.list_runs(engine) == []  # refused before anything was recorded or started
    assert catalog.runs_on_cuda({"device": "cpu"}, 1) is False and catalog.runs_on_cuda({}, 0) is False


# --- 2. the Labs screen knows when there is a GPU ---------------------------------------------------


async def test_labs_screen_shows_gpu_estimates_and_gpu_defaults(home, content_dir, monkeypatch):
    monkeypatch.setenv("PATHWAY_GPU", "fake:1")
    app = make_app(home=home, content_dir=content_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_mode(pilot, "f5")
        screen = app.screen
        for _ in range(100):
            if screen.cuda:
                break
            await pilot.pause(0.05)
        assert screen.cuda
        spec = catalog.get_lab("mlp-digits")
        assert spec.expected_time(cuda=True) in str(screen.query_one("#lab-about", Static).render())
        await pilot.press("e")
        await pilot.pause(0.3)
        assert app.screen.query_one("#knob-hidden", Input).value == str(spec.cuda_defaults["hidden"])


# --- 3. `pathway` loads no database or schema code before its first frame -----------------------------


def test_the_entry_point_imports_no_storage_before_the_first_frame():
    code = (
        "import sys\n"
        "from pathway.cli.main import build_parser\n"
        "args = build_parser([]).parse_args([])\n"
        "import pathway.tui.app\n"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'pydantic', 'alembic', 'pathway.content.questions') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _pathway_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pathway."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("pathway."))
    return names


# what each package may import of pathway's other packages (DESIGN: tui -> quiz, labs, content, db;
# quiz -> content, db; labs -> db; content -> db). content's checker runs code exercises in quiz's sandbox.
ALLOWED = {
    "db": set(),
    "content": {"db", "quiz"},
    "quiz": {"content", "db"},
    "labs": {"db"},
}
SHARED = {"errors", "home", "files", "durations", "words"}  # small modules at the top of the package


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_in_the_design_direction(package):
    offenders = {}
    for path in (REPO / package).rglob("*.py"):
        extra = _pathway_imports(path) - ALLOWED[package] - SHARED - {package}
        if extra:
            offenders[str(path.relative_to(REPO))] = sorted(extra)
    if package == "content":  # only the checker reaches into quiz, and only for the sandbox
        assert all(path == "content/bank_checks.py" for path in offenders if offenders[path] == ["quiz"]), offenders
        offenders = {p: v for p, v in offenders.items() if v != ["quiz"]}
    assert offenders == {}


# --- 4. the smaller ones --------------------------------------------------------------------------------


def test_drill_queue_takes_filters_as_generators(engine):
    from pathway.content.loader import load_course
    from pathway.quiz.scheduling import drill_queue

    course = load_course()
    from_list = drill_queue(engine, course.questions, topics=[1, 2])
    from_generator = drill_queue(engine, course.questions, topics=(t for t in (1, 2)))
    assert len(from_list) > 1 and from_generator == from_list


def test_only_losses_count_for_divergence(engine, tmp_path):
    from pathway.labs.engine import records

    assert is_loss("train/loss") and is_loss("fp16/loss") and is_loss("eval/aux_loss")
    assert not is_loss("fp16/loss_scale") and not is_loss("lossy/acc")
    run_id = records.create(engine, "mixed-precision", {})
    report = Reporter(engine, run_id, tmp_path)
    report.step(3, **{"fp16/loss_scale": float("inf")})  # GradScaler's scale overflowing is not a divergence
    with pytest.raises(Diverged):
        report.step(4, **{"fp16/loss": float("nan")})


async def test_home_and_progress_name_their_two_streaks_apart(home, content_dir):
    app = make_app(home=home, content_dir=content_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_mode(pilot, "f2")
        home_text = " ".join(str(w.render()) for w in app.screen.query(Static))
        await open_mode(pilot, "f6", settle=1.0)
        progress_text = " ".join(str(w.render()) for w in app.screen.query(Static))
    assert "study streak" in home_text and "Review streak" not in home_text
    assert "Review streak" in progress_text


def test_a_stop_asked_while_the_runner_starts_reaches_the_lab(engine, home):
    from pathway.labs.engine import records, runner

    run_id = records.create(engine, "mlp-digits", {"steps": 5})
    run_dir = home / "runs" / str(run_id)
    run_dir.mkdir(parents=True)
    records.set_run_dir(engine, run_id, str(run_dir))
    run = records.claim(engine, run_id)
    runner._stop_requested = True  # SIGINT arrived before the reporter existed
    try:
        status, error, final = runner._run_lab(engine, run, False, home)
    finally:
        runner._stop_requested = False
    assert (status, error, final) == ("stopped", None, None)


def test_the_cifar_lab_caches_its_generated_set_in_the_report_cache_dir(tmp_path):
    from pathway.labs.engine.local_report import LocalReport
    from pathway.labs.programs.cifar_cnn import train as cifar

    config = catalog.build_config("cifar-cnn", {"generated_train": 50, "generated_test": 10}, cuda=False)
    report = LocalReport(tmp_path / "runs" / "elsewhere", cache_dir=tmp_path / "shared-cache")
    data = cifar.load_data(config, report.cache_dir)
    assert data.generated and list((tmp_path / "shared-cache").glob("cifar-generated-*/batches.meta"))


LIBRARY = ["db", "content", "quiz", "labs/engine", "cli"]


def test_docstring_examples_run_as_doctests():
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    examples = 0
    for folder in LIBRARY:
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            if "migrations" in parts or parts[-1] == "exercise_harness":
                continue
            module = importlib.import_module(".".join(("pathway", *(p for p in parts if p != "__init__"))))
            for test in finder.find(module):
                examples += len(test.examples)
                runner.run(test)
    assert runner.failures == 0, f"{runner.failures} of {examples} docstring examples fail"


def test_the_project_never_points_at_files_its_users_do_not_have():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    offenders = [name for name in tracked if Path(name).suffix in {".py", ".toml", ".yaml", ".md", ".cfg"}
                 and ".." "/shared" in (REPO / name).read_text(encoding="utf-8", errors="replace")]
    assert offenders == []


def test_lab_programs_find_the_lessons_they_read_from_their_new_place():
    from pathway.labs.programs.char_transformer import corpus
    from pathway.labs.programs.inference_opt import train as inference

    for folder in (corpus.LESSONS_DIR, inference.LESSONS_DIR):
        assert len(list(folder.rglob("*.md"))) >= 30, folder
