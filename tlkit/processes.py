"""Running a tool so that it ends with ``tlkit``: SIGTERM or Ctrl-C stop its whole process group.

:func:`run_group` starts a command (such as ``jupyter-book build``) in a session of its own and
waits for it. When ``tlkit`` receives SIGTERM or SIGINT meanwhile, every process of that group
is sent SIGTERM, given :data:`STOP_SECONDS` to end, then sent SIGKILL; only then does the signal
take its usual course (SIGTERM ends ``tlkit`` with status 143, Ctrl-C raises
:class:`KeyboardInterrupt`), so nothing the command started keeps writing after ``tlkit`` ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["STOP_SECONDS", "run_group", "stop_group"]

#: Seconds a stopped group has to end after SIGTERM before it is sent SIGKILL.
STOP_SECONDS = 10.0


class _Terminated(BaseException):
    """SIGTERM arrived while the group ran (raised by the handler :func:`run_group` sets)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated(signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a member of another user: alive
        return True
    return True


def stop_group(process: subprocess.Popen[Any], seconds: float | None = None) -> None:
    """End ``process``, leader of a process group, and every process of its group: SIGTERM,
    then SIGKILL to those left after ``seconds`` (default :data:`STOP_SECONDS`); reap it.
    SIGINT and SIGTERM wait until it is done (a second Ctrl-C does not cut it short)."""
    seconds = STOP_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    pgid = process.pid
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=seconds)
        while _group_alive(pgid) and time.monotonic() < deadline:  # its children, ending too
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        process.wait()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def run_group(command: Sequence[str], *, cwd: str | os.PathLike[str] | None = None,
              env: Mapping[str, str] | None = None,
              stop_seconds: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a session (and process group) of its own, its standard output and
    error together as text in the result's ``stdout``, and wait for it.

    SIGTERM or SIGINT received meanwhile stops the group (:func:`stop_group`, ``stop_seconds``)
    before taking its usual course: SIGTERM's previous handler runs (by default this process
    ends, with status 143), Ctrl-C's :class:`KeyboardInterrupt` propagates. The SIGTERM
    handler is set only when called from the main thread.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)
        if previous is not signal.SIG_IGN:
            signal.signal(signal.SIGTERM, _raise_terminated)
    process: subprocess.Popen[str] | None = None
    try:
        try:
            process = subprocess.Popen(
                list(command), cwd=cwd, env=None if env is None else dict(env),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True)
            out, _ = process.communicate()
        except BaseException:  # SIGTERM, Ctrl-C, or anything else: the group ends with us
            if process is not None:
                stop_group(process, stop_seconds)
            raise
        finally:
            if process is not None and process.stdout is not None:
                process.stdout.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    except _Terminated:
        signal.raise_signal(signal.SIGTERM)  # as if it came now: by default, the end
        raise SystemExit(128 + signal.SIGTERM) from None  # a handler that returned
    return subprocess.CompletedProcess(list(command), process.returncode, out, None)
