"""Connecting to Dask for bulk classification (the ``dask`` extra: ``pip install -e ".[dask]"`` in a checkout).

``"local"`` starts a ``LocalCluster`` of single-threaded worker processes for the duration of a run;
an address connects to a cluster someone else runs; a ``Client`` is used and left open. Workers
need imgclass installed and must see the input paths (shared file system, or URLs fsspec can open).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ValueError(
            "Dask is not installed: install the dask extra, pip install -e '.[dask]' in the imgclass-rva checkout"
        ) from None
    return distributed


@contextlib.contextmanager
def dask_client(target: Any, *, workers: int = 1, timeout: str = "10s") -> Iterator[Any]:
    """A ``distributed.Client`` for ``target``: ``"local"``, a scheduler address, or a ``Client``.

    ``timeout`` bounds the wait for a scheduler at an address to answer.
    """
    distributed = _distributed()
    if isinstance(target, distributed.Client):
        yield target
        return
    if not isinstance(target, str) or not target:
        raise ValueError(f"dask must be 'local', a scheduler address or a Client, got {target!r}")
    if target == "local":
        with local_cluster(workers) as cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(target, timeout=timeout)
    except OSError as exc:  # distributed raises OSError (TimeoutError) when nothing answers
        raise ValueError(f"cannot reach the Dask scheduler at {target}: {exc}") from None
    with client:
        yield client


def local_cluster(workers: int, *, profile: bool = False, **kwargs: Any) -> Any:
    """A ``LocalCluster`` of ``workers`` single-threaded processes without task queuing; the dashboard on a free port.

    ``profile=False`` turns off each worker's statistical profiler (it samples the running task's stack
    every 10 ms): on a busy machine it cost a worker about 15% more CPU per image, and the dashboard's
    task stream and progress pages do not need it.
    """
    distributed = _distributed()
    import dask

    # One thread per worker: the classifiers are CPU-bound Python/OpenCV, so threads would share a core
    # budget the processes already use; a free dashboard port avoids clashing with another cluster.
    settings: dict[str, Any] = {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": ":0",
    }
    settings.update(kwargs)
    logger.info("starting a Dask LocalCluster with %d workers", workers)
    # The nannies hand this configuration to the worker processes they start. Without queuing on the
    # scheduler (worker-saturation inf), every chunk the engine has in flight goes to a worker at once, as
    # in a process pool: queued, a worker got its next chunk only after reporting the last one.
    config = {"distributed.worker.profile.enabled": profile, "distributed.scheduler.worker-saturation": float("inf")}
    with dask.config.set(config):
        return distributed.LocalCluster(**settings)


class GatheredResults:
    """Chunk results fetched to the client as their tasks finish, not when the engine asks for each.

    ``Future.result()`` is a round trip through the client's event loop and a fetch from the worker, paid
    in turn for every chunk while the engine waits; ``as_completed(with_results=True)`` fetches each
    result in the background as soon as its task is done. :meth:`add` returns what the engine waits on.
    """

    def __init__(self) -> None:
        self._completed = _distributed().as_completed(with_results=True, raise_errors=False)
        self._arrived: dict[Any, Any] = {}

    def add(self, future: Any) -> GatheredResult:
        self._completed.add(future)
        return GatheredResult(self, future)

    def wait(self, future: Any) -> Any:
        while future.key not in self._arrived:
            done, value = next(self._completed)
            self._arrived[done.key] = value
        value = self._arrived.pop(future.key)
        if future.status != "finished":
            return future.result()  # raises the task's own error (or CancelledError)
        return value


class GatheredResult:
    """One chunk's future in a :class:`GatheredResults`."""

    def __init__(self, results: GatheredResults, future: Any) -> None:
        self._results, self._future = results, future

    def result(self) -> Any:
        return self._results.wait(self._future)

    def cancel(self) -> Any:
        return self._future.cancel()


def quiet_dask_logs(level: int = logging.WARNING) -> None:
    """Hide distributed's INFO lines (every worker start and stop) from a command line's stderr.

    distributed sets its loggers' levels when it is imported, so this imports it first.
    """
    _distributed()
    for name in ("distributed", *(n for n in logging.root.manager.loggerDict if n.startswith("distributed."))):
        logging.getLogger(name).setLevel(level)
