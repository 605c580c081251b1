"""Exercise code is fenced in: no secrets, no home, no disk, no network, no signals to the app, no floods.

Every test goes through the real runner and a real child. Each runs once per sandbox backend this
machine can start (`PATHWAY_SANDBOX` forces it): bubblewrap, unshare's namespaces, and the plain
fallback. What the fallbacks do not isolate is skipped by name, as `quiz/sandbox.py` documents.
"""

from __future__ import annotations

import os
import socket
import textwrap
from pathlib import Path

import psutil
import pytest

from pathway.quiz import sandbox
from pathway.quiz.exercise_runner import OUTPUT_KEEP_BYTES, run_exercise

REPO = Path(__file__).resolve().parents[1]
ADD = "def add(a, b):\n    return a + b\n"


@pytest.fixture(params=sandbox.BACKENDS)
def backend(request, monkeypatch) -> str:
    monkeypatch.setenv(sandbox.FORCE_VARIABLE, request.param)
    if sandbox.sandbox_backend() != request.param:
        pytest.skip(f"{request.param} cannot start a sandbox on this machine")
    return request.param


def _run(tests: str, code: str = ADD, timeout_s: float = 10):
    return run_exercise(code, textwrap.dedent(tests), timeout_s=timeout_s)


def test_the_apps_secrets_are_not_in_the_environment(backend, monkeypatch) -> None:
    monkeypatch.setenv("PATHWAY_TEST_SECRET", "hunter2")
    result = _run("""
        import os
        def test_no_secret():
            assert "PATHWAY_TEST_SECRET" not in os.environ
            assert "hunter2" not in repr(dict(os.environ))
            assert set(os.environ) <= {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONIOENCODING", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MALLOC_ARENA_MAX", "PWD"}
    """)
    assert result.passed, result


def test_the_users_home_is_not_the_childs(backend, monkeypatch, tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text("api key")
    monkeypatch.setenv("HOME", str(home))
    result = _run(f"""
        import os
        from pathlib import Path
        def test_home_is_private():
            assert Path.home() != Path({str(home)!r})
            assert not (Path.home() / "secret.txt").exists()
            assert Path.cwd() == Path.home()
    """)
    assert result.passed, result


def test_files_outside_the_sandbox_cannot_be_read(backend, tmp_path) -> None:
    if backend != "bwrap":
        pytest.skip("only bubblewrap fences the disk; unshare and plain children read what the user can")
    secret = tmp_path / "secret.txt"
    secret.write_text("api key")
    result = _run(f"""
        from pathlib import Path
        def test_unreadable():
            for path in ({str(secret)!r}, {str(REPO / "README.md")!r}, "/etc/shadow", "/etc/hostname"):
                assert not Path(path).exists(), path
    """)
    assert result.passed, result


def test_writes_outside_the_sandbox_fail(backend, tmp_path) -> None:
    if backend != "bwrap":
        pytest.skip("only bubblewrap fences the disk; unshare and plain children write where the user can")
    targets = [REPO / "pwned-by-exercise.txt", tmp_path / "marker.txt", Path("/tmp/pathway-exercise-marker.txt")]
    result = _run(f"""
        def test_cannot_write():
            for path in {[str(t) for t in targets]!r}:
                try:
                    open(path, "w").write("x")
                except OSError:
                    continue
                raise AssertionError("wrote " + path)
            open("allowed.txt", "w").write("its own directory is fine")
    """)
    assert result.passed, result
    assert not any(t.exists() for t in targets)


def test_the_private_home_is_removed_afterwards(backend) -> None:
    result = _run("""
        import os
        def test_report_home():
            open("left-behind.txt", "w").write("x")
            print("HOME=" + os.environ["HOME"])
    """)
    assert result.passed, result
    home = Path(result.output.split("HOME=")[1].split()[0])
    assert home.name == "home" and not home.parent.exists()


@pytest.mark.parametrize(
    "attack",
    ["os.kill(os.getppid(), signal.SIGKILL)", "os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)", "os.killpg(0, signal.SIGKILL)"],
    ids=["kill-parent", "killpg-parent", "killpg-own"],
)
def test_the_code_cannot_kill_the_app(backend, attack) -> None:
    me = os.getpid()
    code = f"import os, signal\ndef add(a, b):\n    {attack}\n    return a + b\n"
    result = _run("def test_it():\n    assert add(1, 2) == 3\n", code=code)
    assert os.getpid() == me and psutil.pid_exists(me)  # still here to say so
    # killing the harness leaves the forked test to finish (passed); killing its group is a crash
    assert result.status in ("passed", "crashed"), result


def test_an_output_flood_is_cut_and_the_app_stays_small(backend) -> None:
    me = psutil.Process()
    before = me.memory_info().rss
    code = "import time\ndef add(a, b):\n    end = time.time() + 10\n    while time.time() < end:\n        print('x' * 1000)\n    return a + b\n"
    result = _run("def test_it():\n    assert add(1, 2) == 3\n", code=code, timeout_s=20)
    grown = me.memory_info().rss - before
    assert grown < 200 * 1024 * 1024, f"the app grew by {grown / 2**20:.0f} MB"
    assert result.status == "crashed" and "output truncated after 64 KiB" in result.message, result
    assert "[output truncated after 64 KiB]" in result.output
    assert len(result.output.encode()) < OUTPUT_KEEP_BYTES + 100


def test_modest_output_is_kept_whole(backend) -> None:
    result = _run("def test_it():\n    for i in range(100):\n        print('line', i)\n")
    assert result.passed and "line 99" in result.output and "truncated" not in result.output


def test_there_is_no_network(backend) -> None:
    if backend == "plain":
        pytest.skip("the plain fallback has the user's network")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = _run(f"""
            import socket
            def test_offline():
                try:
                    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
                except OSError:
                    return
                raise AssertionError("reached the app's port")
        """)
    assert result.passed, result


def test_the_child_runs_in_its_own_session() -> None:
    result = _run("import os\ndef test_session():\n    assert os.getsid(0) != %d\n" % os.getsid(0))
    assert result.passed, result


def test_without_bwrap_or_unshare_on_the_path_it_falls_back_to_plain(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither tool can be found: what a bare machine looks like
    monkeypatch.delenv(sandbox.FORCE_VARIABLE, raising=False)
    sandbox._works.cache_clear()
    try:
        assert sandbox.sandbox_backend() == "plain"
        assert run_exercise(ADD, "def test_it():\n    assert add(1, 2) == 3\n", timeout_s=10).passed
    finally:
        sandbox._works.cache_clear()  # the next test probes the real PATH again
