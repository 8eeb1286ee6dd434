"""What a bulk worker classifies with: a small picklable description, loaded once per process.

Shipping a *spec* (a registry name or a model file path) to the workers instead of a fitted
estimator keeps every task tiny; :func:`resolve` turns it into a classifier the first time a process
sees it and caches it, so a worker loads the model once, not once per image or per chunk.
"""

from __future__ import annotations

import importlib
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

#: ``imgclass classify`` without ``--classifier``/``--model``: the accurate default.
DEFAULT_CLASSIFIER = "combined"
#: ``--fast``: the hand-made-feature model at about the cost of a reduced decode.
FAST_CLASSIFIER = "fast"


def fast_classifier() -> str:
    """The fast classifier's registered name (``combined`` itself until ``fast`` is registered)."""
    from imgclass.classifiers import REGISTRY

    return FAST_CLASSIFIER if FAST_CLASSIFIER in REGISTRY else DEFAULT_CLASSIFIER


@dataclass(frozen=True)
class ClassifierSpec:
    """A registry ``name`` (``imgclass.classifiers.pretrained``) or a saved ``model`` file; exactly one."""

    name: str | None = DEFAULT_CLASSIFIER
    model: str | None = None

    def __post_init__(self) -> None:
        if (self.name is None) == (self.model is None):
            raise ValueError("give exactly one of a classifier name or a model file")

    @property
    def label(self) -> str:
        """The ``classifier`` field of each result."""
        return os.path.basename(self.model) if self.model is not None else str(self.name)

    def load(self) -> Any:
        """Build the classifier (expensive: :func:`resolve` calls this once per process)."""
        if self.model is not None:
            return _load_model_file(self.model)
        from imgclass.classifiers import pretrained

        return pretrained(str(self.name))


@dataclass(frozen=True)
class EstimatorSpec(ClassifierSpec):
    """An estimator object from the Python API (anything with ``predict_proba`` on encoded bytes)."""

    estimator: Any = field(default=None, compare=False, repr=False)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def load(self) -> Any:
        return self.estimator


def _load_model_file(path: str) -> Any:
    try:
        loader = importlib.import_module("imgclass.models").load_model
    except (ImportError, AttributeError):
        raise ValueError("loading a model file needs imgclass.models.load_model, which this install lacks") from None
    return loader(path)


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
    if isinstance(classifier, str):
        from imgclass.classifiers import REGISTRY

        if classifier not in REGISTRY:
            raise ValueError(f"unknown classifier {classifier!r}; choose one of {', '.join(REGISTRY)}")
        return ClassifierSpec(name=classifier)
    if callable(getattr(classifier, "predict_proba", None)):
        return EstimatorSpec(name=type(classifier).__name__, estimator=classifier)
    raise ValueError(f"classifier must be a name, a ClassifierSpec or an estimator, got {type(classifier).__name__}")


_loaded: dict[ClassifierSpec, Any] = {}
_lock = threading.Lock()


def resolve(spec: ClassifierSpec) -> Any:
    """The classifier for ``spec``, loaded on first use in this process and shared afterwards."""
    if isinstance(spec, EstimatorSpec):
        return spec.estimator  # already built; caching it would only keep it alive
    # Dask workers may run several task threads; the lock keeps it to one load per process.
    with _lock:
        try:
            return _loaded[spec]
        except KeyError:
            classifier = _loaded[spec] = spec.load()
            return classifier
