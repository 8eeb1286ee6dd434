"""What a bulk worker classifies with: a small picklable description, made ready once per process.

Shipping a *spec* (a registry name or a model file path) to the workers instead of a fitted
estimator keeps every task tiny. Turning it into a classifier is :func:`imgclass.ready.ready`'s job;
:func:`resolve` only remembers the answer per spec, so a worker loads the model once, not once per
image or per chunk.
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from imgclass.ready import DEFAULT_CLASSIFIER, FAST_CLASSIFIER, ReadyClassifier, ready

__all__ = ["DEFAULT_CLASSIFIER", "FAST_CLASSIFIER", "ClassifierSpec", "EstimatorSpec", "as_spec", "resolve"]


@dataclass(frozen=True)
class ClassifierSpec:
    """A registry ``name`` or a saved ``model`` file; exactly one."""

    name: str | None = DEFAULT_CLASSIFIER
    model: str | None = None

    def __post_init__(self) -> None:
        if (self.name is None) == (self.model is None):
            raise ValueError("give exactly one of a classifier name or a model file")

    @property
    def label(self) -> str:
        """The ``classifier`` field of each result (what :class:`~imgclass.ready.ReadyClassifier` names it)."""
        return os.path.basename(self.model) if self.model is not None else str(self.name)

    def load(self) -> ReadyClassifier:
        """The ready classifier (expensive the first time: :func:`resolve` calls this once per process)."""
        return ready(self.model if self.model is not None else str(self.name))


@dataclass(frozen=True)
class EstimatorSpec(ClassifierSpec):
    """An estimator object from the Python API (anything with ``predict_proba`` on encoded bytes)."""

    estimator: Any = field(default=None, compare=False, repr=False)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def load(self) -> ReadyClassifier:
        return ReadyClassifier(self.label, self.estimator)


def as_spec(classifier: Any = None, model: str | os.PathLike[str] | None = None) -> ClassifierSpec:
    """Normalise the ``classifier``/``model`` arguments of the API and CLI, checking them up front."""
    if model is not None:
        if classifier is not None:
            raise ValueError("give a classifier name or a model file, not both")
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise ValueError(f"model file {path} does not exist")
        return ClassifierSpec(name=None, model=path)
    if classifier is None:
        return ClassifierSpec()
    if isinstance(classifier, ClassifierSpec):
        return classifier
    if isinstance(classifier, ReadyClassifier):
        return EstimatorSpec(name=classifier.name, estimator=classifier.estimator)
    if isinstance(classifier, str):
        from imgclass.classifiers import REGISTRY

        if classifier not in REGISTRY:
            raise ValueError(f"unknown classifier {classifier!r}; choose one of {', '.join(REGISTRY)}")
        return ClassifierSpec(name=classifier)
    if callable(getattr(classifier, "predict_proba", None)):
        return EstimatorSpec(name=type(classifier).__name__, estimator=classifier)
    raise ValueError(f"classifier must be a name, a ClassifierSpec or an estimator, got {type(classifier).__name__}")


_loaded: dict[ClassifierSpec, ReadyClassifier] = {}
_lock = threading.Lock()


def resolve(spec: ClassifierSpec) -> ReadyClassifier:
    """The ready classifier for ``spec``, loaded on first use in this process and shared afterwards."""
    if isinstance(spec, EstimatorSpec):
        return spec.load()  # already built; caching it would only keep it alive
    # Dask workers may run several task threads; the lock keeps it to one load per process.
    with _lock:
        try:
            return _loaded[spec]
        except KeyError:
            classifier = _loaded[spec] = spec.load()
            return classifier
