"""Fit and apply the small learned models on one thread: more threads only add waiting.

Every model here is small: a few hundred to a few tens of thousands of rows of a few dozen features.
scikit-learn's ``HistGradientBoostingClassifier`` (``fast``, ``combined``, ``byte-stream``) runs every
boosting iteration as several OpenMP parallel regions, and each region ends at a barrier where a thread
that finished waits, spinning first, for the others. On so few rows a region holds microseconds of work,
so the barriers are the cost: on a 2-core machine shared with other processes, a thread that is not
scheduled at once holds every barrier for a scheduler time slice. ``CalibratedClassifierCV`` fits six
boosters per model and cross-validation a model per fold, so ``imgclass reproduce --cv source
--classifier fast`` fitted about 70 of them and ran 2-3x slower than with ``OMP_NUM_THREADS=1``, and
notebook 08 (a refit per held-out domain) 9x slower (issue 21). The BLAS of the logistic models is the
same story on these tiny matrices. OpenCV's own thread pool is not touched: feature extraction decodes
and filters whole images, work large enough to share.

:func:`one_thread` limits the OpenMP and BLAS pools to one thread around fitting and predicting, and puts
them back after; nested and concurrent blocks cost nothing (the outermost one sets and restores).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

_lock = threading.Lock()
_depth = 0
_restore: Any = None
#: A controller lists the loaded thread-pool libraries, which takes milliseconds; it is kept until an
#: import may have loaded another (``len(sys.modules)`` changed).
_controller: tuple[int, ThreadpoolController] | None = None


def _current_controller() -> ThreadpoolController:
    global _controller
    loaded = len(sys.modules)
    if _controller is None or _controller[0] != loaded:
        _controller = (loaded, ThreadpoolController())
    return _controller[1]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run OpenMP and BLAS on one thread inside this block (see the module's docstring for why)."""
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = _current_controller().limit(limits=1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _restore.restore_original_limits()
                _restore = None
