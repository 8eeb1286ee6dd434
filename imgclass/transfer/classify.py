"""Check that a payload decodes and run the classifiers on it: in a process pool, or in the caller's thread.

Classification is :func:`imgclass.ready.classify_bytes`, whose classifiers' own decodes are the check that
the payload is an image (so it is decoded once per classifier, not once more by the server); without
classifiers, :func:`check_decodes` does the cheapest decode that still proves it.

Classifying is CPU-bound Python, so threads would share one core under the GIL; a pool with one worker
per core uses them all. Each worker resolves the classifiers once (by name, or unpickles the given
estimators). ``workers=0`` classifies in the calling thread instead: no processes to start, which
suits tests, notebooks and classifiers that cannot be pickled.

Outcomes cross the process boundary as plain tuples, never as exceptions, so that an error's code
survives pickling. A worker that dies (the kernel's out-of-memory killer, say) costs its image an
``out-of-memory`` reply, and the pool is replaced.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Protocol, cast

import cv2
import numpy as np

from imgclass.decode import ImageDecodeError
from imgclass.parent_watch import exit_with_parent
from imgclass.transfer.protocol import ProtocolError, Verdict

if TYPE_CHECKING:
    from imgclass.ready import ReadyClassifier

logger = logging.getLogger(__name__)

__all__ = ["Classifier", "ClassifierSpec", "Classifiers", "check_decodes", "resolve_classifiers"]


class Classifier(Protocol):
    """What the server needs of an estimator: sklearn's ``predict_proba`` over encoded images."""

    def predict_proba(self, X: Sequence[bytes], /) -> Any: ...


ClassifierSpec = Sequence[str] | Mapping[str, Classifier] | None
#: ``("ok", verdicts)`` or ``("error", code, message)``.
Outcome = tuple[Any, ...]

#: Reduced decodes for the "does it decode" check: JPEGs at 1/8 size in grey (libjpeg still
#: entropy-decodes every coefficient of every component, so corruption is found, but skips most of the
#: inverse DCT and the colour conversion: 3.3 ms against 9.4 ms for a full decode of an 800x600 JPEG
#: here), everything else to 8-bit colour, which for PNG strips 16-bit samples and alpha row by row
#: inside libpng instead of allocating them.
_CHECK_FLAGS = {"jpeg": cv2.IMREAD_REDUCED_GRAYSCALE_8}


def resolve_classifiers(spec: ClassifierSpec) -> dict[str, ReadyClassifier]:
    """Names or model files (``None``: the accurate default), or a mapping name -> estimator."""
    from imgclass.ready import ReadyClassifier, ready_many

    if isinstance(spec, Mapping):
        return {name: ReadyClassifier(name, estimator) for name, estimator in spec.items()}
    if spec is not None and not spec:
        return {}
    return {c.name: c for c in ready_many(spec)}


def decodes_pixels(classifier: ReadyClassifier) -> bool:
    """Whether ``classifier`` decodes every image it scores, so that its decode proves the image decodes.

    Only what says so (``decodes_pixels`` on the registry's pixel classifiers) is trusted; for anything
    else the server runs its own reduced check, which is safe, only slower.
    """
    return getattr(classifier.estimator, "decodes_pixels", False) is True


def check_decodes(data: bytes | memoryview, fmt: str) -> None:
    """Decode ``data`` as cheaply as still proves it decodes; :class:`ProtocolError` if it does not.

    The caller has parsed the header and enforced the pixel limit already.
    """
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), _CHECK_FLAGS.get(fmt, cv2.IMREAD_COLOR))
    except MemoryError:
        raise ProtocolError("the server ran out of memory decoding the image; try again", "out-of-memory") from None
    except cv2.error as exc:  # OpenCV raises its own error type for some malformed inputs
        raise ProtocolError(f"payload does not decode: {exc}", code="not-an-image") from None
    if image is None:
        raise ProtocolError(f"payload does not decode: {fmt} image is corrupt or truncated", code="not-an-image")


def classify(data: bytes, classifiers: Mapping[str, ReadyClassifier], max_pixels: int) -> Outcome:
    """Run every classifier on ``data``; one that fails gives an error verdict, the others are kept."""
    from imgclass.ready import Limits, classify_bytes

    try:
        result = classify_bytes(data, tuple(classifiers.values()), Limits(max_pixels, max(1, len(data))))
    except MemoryError:
        # Never "not-an-image": the image may be fine, the server was short of memory.
        return ("error", "out-of-memory", "the server ran out of memory classifying the image; try again")
    except ImageDecodeError as exc:
        return ("error", "not-an-image", f"payload does not decode: {exc}")
    return ("ok", result.verdicts)


_WORKER_CLASSIFIERS: dict[str, ReadyClassifier] = {}


def _init_worker(spec: ClassifierSpec) -> None:
    # Ctrl-C reaches the whole process group; the server shuts its pool down itself, and a worker
    # interrupted on its own would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()  # a server killed outright must not leave its workers (and fork server) behind
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one worker per core: no nested thread pools
    cv2.setNumThreads(1)
    _WORKER_CLASSIFIERS.update(resolve_classifiers(spec))


def _classify_in_worker(data: bytes, max_pixels: int) -> Outcome:
    return classify(data, _WORKER_CLASSIFIERS, max_pixels)


def _ready() -> int:
    return os.getpid()


class Classifiers:
    """The server's classifiers, run in ``workers`` processes (``0``: in the calling thread)."""

    def __init__(self, spec: ClassifierSpec, workers: int) -> None:
        if workers < 0:
            raise ValueError(f"workers must not be negative, got {workers}")
        self._spec: ClassifierSpec = spec
        # Resolved here too, so that a bad name fails at construction and the HELLO can list them.
        self.local = resolve_classifiers(spec)
        self.names = tuple(self.local)
        #: Whether running the classifiers proves the payload decodes (see :func:`decodes_pixels`).
        self.decode = any(decodes_pixels(c) for c in self.local.values())
        self.workers = workers if self.names else 0
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self.workers and self._pool is None:
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # Not fork: the server has threads, and a forked child could inherit a held lock.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        pool = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context(method),
            initializer=_init_worker, initargs=(self._spec,),
        )  # fmt: skip
        # Start (and load the classifiers in) every worker now rather than on the first image.
        for future in [pool.submit(_ready) for _ in range(self.workers)]:
            future.result()
        return pool

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def run(self, data: bytes, max_pixels: int) -> tuple[Verdict, ...]:
        """The verdicts for ``data``; :class:`ProtocolError` ``not-an-image`` when a classifier could not
        decode it, ``out-of-memory`` when memory ran out."""
        if not self.names:
            return ()
        pool = self._pool
        if pool is None:
            outcome = classify(data, self.local, max_pixels)
        else:
            try:
                outcome = pool.submit(_classify_in_worker, data, max_pixels).result()
            except BrokenProcessPool:
                logger.error("a classifier worker died (out of memory?); starting a new pool")
                with self._lock:
                    if self._pool is pool:
                        pool.shutdown(wait=False, cancel_futures=True)
                        self._pool = self._new_pool()
                raise ProtocolError(
                    "a classifier worker died while classifying the image (most likely out of memory); try again",
                    code="out-of-memory",
                ) from None
        if outcome[0] == "error":
            raise ProtocolError(outcome[2], code=outcome[1])
        return cast(tuple[Verdict, ...], outcome[1])
