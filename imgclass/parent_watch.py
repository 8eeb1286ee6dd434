"""Worker processes that exit as soon as the process that started them is gone, however it died.

A pool's worker blocks reading its task queue, and holds both ends of that queue's pipe, so a parent
killed with SIGKILL (or by the out-of-memory killer) never closes it: the workers wait forever, and with
them the multiprocessing resource tracker and fork server, which exit only once every worker has closed
its copy of their pipes. :func:`exit_with_parent`, called in a pool's initializer, starts a daemon
thread that waits for the *starting* process to end and then ends the worker.

The wait is on the process itself, not on the worker's OS parent: a fork-server worker's parent is the
fork server, which outlives the process that asked for the worker (the workers keep it alive). On Linux
the thread sleeps on a pidfd of the starting process, which becomes readable the moment it exits, even
as an unreaped zombie; elsewhere it polls. ``prctl(PR_SET_PDEATHSIG)`` is not used: it fires when the
*thread* that spawned the worker exits, and a ``ProcessPoolExecutor`` spawns workers in whichever thread
submits, so a server thread that ended would kill healthy workers (a pool whose workers set it broke as
soon as the submitting thread returned).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

#: Seconds between checks where the system offers nothing to wait on (not Linux, or Linux before 5.3).
POLL_SECONDS: Final = 0.2
#: Exit status of a worker that ended because the process that started it was gone.
ORPHAN_EXIT_STATUS: Final = 70
#: How many generations up from this process the starting process may be (its child, or a fork server's).
_ANCESTRY_DEPTH: Final = 3

_lock = threading.Lock()
_watched: int | None = None


def exit_with_parent() -> int | None:
    """In a multiprocessing child, end this process as soon as the process that started it is gone.

    Returns the pid watched, or None in a process that multiprocessing did not start (a command that is
    its own worker keeps running whatever its parent does). Calling it again is free. If the starting
    process is already gone, this process exits before returning.
    """
    global _watched
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return None
    with _lock:
        if _watched is not None:
            return _watched
        wait = _waiter(parent.pid)
        threading.Thread(target=_exit_after, args=(wait,), name="exit-with-parent", daemon=True).start()
        _watched = parent.pid
        return _watched


def _exit_after(wait: Callable[[], None]) -> None:
    wait()
    # Nobody is left to take a result, and interpreter shutdown could block on the dead parent's pipes.
    os._exit(ORPHAN_EXIT_STATUS)


def _waiter(pid: int) -> Callable[[], None]:
    """A call that returns once process ``pid`` has exited (at once if it already has)."""
    if sys.platform == "win32":  # spawn is the only start method: the parent's sentinel is its process handle
        parent = multiprocessing.parent_process()
        if parent is None or parent.sentinel is None:
            return _gone
        sentinel = parent.sentinel
        return lambda: _wait_sentinel(sentinel)
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(pid)
        except ProcessLookupError:
            return _gone
        except OSError:  # a kernel without pidfds (before 5.3), or a sandbox refusing the call
            pass
        else:
            # The pidfd names whatever process has that pid now; that process is ours only if it is still
            # among our ancestors (checked after opening, so it cannot be replaced in between).
            if _is_ancestor(pid) is False:
                os.close(fd)
                return _gone
            return lambda: _wait_readable(fd)
    if _is_ancestor(pid) is False:
        return _gone
    return lambda: _poll_until_gone(pid)


def _gone() -> None:
    return None


def _wait_sentinel(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])


def _wait_readable(fd: int) -> None:
    while not select.select([fd], [], [])[0]:
        pass


def _poll_until_gone(pid: int) -> None:
    # A parent that died leaves this process to another one; a zombie still answers kill(pid, 0).
    direct = os.getppid() == pid
    while (os.getppid() == pid) if direct else _alive(pid):
        time.sleep(POLL_SECONDS)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's (the pid was reused): still wait, it cannot be told apart
        return True
    return True


def _is_ancestor(pid: int) -> bool | None:
    """Whether ``pid`` is this process's parent or (a fork server's worker) grandparent; None where unknown.

    Beyond the parent it takes ``/proc``; without it (macOS) only the parent can be confirmed.
    """
    current = os.getppid()
    for _ in range(_ANCESTRY_DEPTH):
        if current == pid:
            return True
        if current <= 1:
            return False
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
        except OSError:
            return None
        current = int(stat[stat.rindex(")") + 2 :].split()[1])
    return False
