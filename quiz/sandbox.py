"""Where exercise code runs: the command line and environment that fence a child process in.

    backend = sandbox_backend()                  # "bwrap" | "unshare" | "plain"
    argv = wrap([sys.executable, "-I", ...], workdir, home, backend)
    env = child_env(home)

Three backends, the strongest this machine allows, picked once per process by trying each
(a `bwrap` binary can exist where the kernel or AppArmor refuses user namespaces):

- **bwrap** (bubblewrap): new user, PID, network, IPC, UTS and mount namespaces. The child sees
  read-only /usr and the interpreter's own directories (stdlib, venv, site-packages), a few
  files of /etc that the dynamic loader needs, a fresh /proc and /dev, and one writable
  directory: the run's temporary directory (its HOME, cwd and TMPDIR are inside it). Nothing else of the disk, no network, no process
  outside its namespace (the app's pid does not exist there), and `--new-session` so it cannot
  push keystrokes into the terminal. It dies with the runner (`--die-with-parent`).
- **unshare** (util-linux): new network and PID namespaces (plus a user namespace when not root),
  so no network and no way to address the app's pid. The disk is NOT fenced: the code can read
  what the user can read and write where the user can write.
- **plain**: no namespaces. What still holds: the minimal environment (no secrets in variables),
  a private HOME and working directory removed afterwards, its own session and process group
  (the app's group is out of reach of `killpg`), the learner's code runs in a forked grandchild
  so `os.getppid()` is the harness and not the app, and the runner's time, memory and output
  limits. What does not hold: the disk and the network are the user's, and code that looks the
  app's pid up (in /proc) can still signal it.

`PATHWAY_SANDBOX=bwrap|unshare|plain` forces a backend (the tests use it to cover the fallbacks);
a forced backend that cannot run here falls back like `auto` does, to the next one down.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

BACKENDS = ("bwrap", "unshare", "plain")
FORCE_VARIABLE = "PATHWAY_SANDBOX"
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
# /etc entries the loader and libc read; the rest of /etc (keys, shadow, configs) stays out
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf")
THREAD_LIMITS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}


def child_env(home: Path) -> dict[str, str]:
    """The whole environment the child gets: nothing of the app's (no tokens, no keys)."""
    env = {
        "PATH": SAFE_PATH,
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",  # -I ignores PYTHON* variables; this one is for the code's own children
        **THREAD_LIMITS,
    }
    return env


def sandbox_backend() -> str:
    """The backend forced by PATHWAY_SANDBOX if it runs here, else the strongest that does."""
    wanted = os.environ.get(FORCE_VARIABLE, "auto").strip().lower()
    start = BACKENDS.index(wanted) if wanted in BACKENDS else 0
    for backend in BACKENDS[start:]:
        if _works(backend):
            return backend
    return "plain"


def wrap(argv: list[str], workdir: Path, home: Path, backend: str) -> list[str]:
    """`argv` run inside `backend`; `workdir` (holding `home`) is the only path it may write."""
    if backend == "bwrap":
        return _bwrap_prefix(workdir, home) + ["--", *argv]
    if backend == "unshare":
        return _unshare_prefix() + ["--", *argv]
    return list(argv)


# --- the backends -----------------------------------------------------------------


def _bwrap_prefix(workdir: Path, home: Path) -> list[str]:
    args = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    # no /tmp of its own: TMPDIR is its HOME, and the root is remounted read-only at the end
    args += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for entry in ETC_ENTRIES:
        path = Path("/etc") / entry
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    for root in _python_roots():
        args += ["--ro-bind", str(root), str(root)]
    args += ["--bind", str(workdir), str(workdir), "--remount-ro", "/", "--chdir", str(home)]
    return args


def _unshare_prefix() -> list[str]:
    args = [shutil.which("unshare") or "unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if os.geteuid() != 0:
        args.insert(1, "--map-root-user")  # an unprivileged user needs its own user namespace first
    return args


def _python_roots() -> list[Path]:
    """The directories the interpreter reads: its binary, the stdlib, the venv and its packages."""
    candidates = {Path(sys.executable).parent, Path(os.path.realpath(sys.executable)).parent}
    candidates |= {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            candidates.add(Path(value))
    resolved = sorted({Path(os.path.realpath(p)) for p in candidates if p.exists()}, key=lambda p: len(p.parts))
    roots: list[Path] = []
    for path in resolved:
        # /usr is bound already, and a directory inside one that is bound needs no bind of its own
        if path == Path("/") or path.is_relative_to("/usr") or any(path.is_relative_to(r) for r in roots):
            continue
        roots.append(path)
    # a venv whose bin/python is a symlink keeps the link's own directory too (sys.executable's)
    for link in (Path(sys.executable).parent, Path(sys.prefix)):
        if link.exists() and not any(link.is_relative_to(r) for r in roots) and not link.is_relative_to("/usr"):
            roots.append(link)
    return roots


@functools.cache
def _works(backend: str) -> bool:
    """Whether `backend` can start a trivial interpreter here (checked once per process)."""
    if backend == "plain":
        return True
    if shutil.which(backend) is None:
        return False
    with tempfile.TemporaryDirectory(prefix="pathway-probe-") as tmp:
        probe = Path(os.path.realpath(tmp))
        argv = wrap([sys.executable, "-I", "-c", "pass"], probe, probe, backend)
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, env=child_env(probe))
        except (OSError, subprocess.TimeoutExpired):
            return False
    return done.returncode == 0
