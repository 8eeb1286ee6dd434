"""Save and load fitted classifiers without pickle, and the pre-fitted models shipped in this package.

Loading a pickle runs whatever code the file names, so a model file from elsewhere would be a way in.
A model file here is one JSON object: plain metadata (classifier name, parameters, feature names,
versions, a fingerprint of the training data) and a ``payload``, the fitted state serialised by
``skops.io`` (base64), whose SHA-256 is recorded beside it. Loading checks, in order: that the file is
JSON of our format and version, that the classifier and its parameters are known, that the features
are the ones this version computes, that the payload matches its checksum, and that every type the
payload would create is on an explicit allow-list (:data:`TRUSTED_TYPES`, on top of the plain numpy
and scikit-learn types skops trusts by default). Any failure raises ``ValueError`` naming the
problem; nothing from the file is executed.

The checksum catches corruption, not an attacker, who can recompute it; the allow-list is what keeps a
crafted file from reaching anything but the estimators listed.

Shipped models live next to this module as ``<classifier name>.json``; :func:`shipped_model_path`
finds them and :func:`imgclass.ready.pretrained` loads them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import sklearn

from imgclass import __version__
from imgclass.classifiers.base import ImageClassifier

logger = logging.getLogger(__name__)

FORMAT: Final = "imgclass-model"
FORMAT_VERSION: Final = 1
#: A model file larger than this is refused before it is parsed.
MAX_MODEL_BYTES: Final = 32 * 1024 * 1024
MODEL_DIR: Final = Path(__file__).resolve().parent

#: Every type a payload may contain, stdlib, numpy and scikit-learn included: the fitted parts of the
#: registered classifiers and nothing else. skops' own default trust is not relied on (it would let a
#: file swap one scikit-learn class for another).
TRUSTED_TYPES: Final[frozenset[str]] = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.tuple",
        "imgclass.classifiers.balance.ClassBalanced",
        "imgclass.classifiers.fusion.FusionModel",
        "imgclass.classifiers.threshold.ThresholdClassifier",
        "numpy.dtype",
        "numpy.float64",
        "numpy.int64",
        "numpy.ndarray",
        "numpy.random._generator.Generator",
        "numpy.uint64",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss.link.Interval",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn.calibration.CalibratedClassifierCV",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.isotonic.IsotonicRegression",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._discretization.KBinsDiscretizer",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._label.LabelEncoder",
    }
)
#: skops node kinds a payload may use; notably not functions, methods or operators.
TRUSTED_NODES: Final[frozenset[str]] = frozenset(
    {
        "DTypeNode",
        "DictNode",
        "JsonNode",
        "ListNode",
        "LossNode",
        "NdArrayNode",
        "ObjectNode",
        "RandomGeneratorNode",
        "TupleNode",
        "TypeNode",
    }
)
#: Most bytes a payload may expand to when unzipped.
MAX_PAYLOAD_UNZIPPED: Final = 256 * 1024 * 1024


def _registry() -> dict[str, Any]:
    from imgclass.classifiers import REGISTRY

    return dict(REGISTRY)


def classifier_name(classifier: ImageClassifier) -> str:
    """The registry name of ``classifier``'s class."""
    for name, factory in _registry().items():
        if type(classifier) is factory:
            return name
    raise ValueError(f"{type(classifier).__name__} is not a registered classifier, so it cannot be saved")


def training_fingerprint(images: Sequence[bytes], labels: Sequence[int] | np.ndarray) -> str:
    """SHA-256 over the sorted ``(sha256(image), label)`` pairs: the same set in any order, same value."""
    pairs = sorted(
        f"{hashlib.sha256(data).hexdigest()}:{int(label)}" for data, label in zip(images, labels, strict=True)
    )
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()


def describe_training(
    images: Sequence[bytes], labels: Any, sources: Any = None, root: str | None = None
) -> dict[str, Any]:
    """The ``training`` block of a model file: counts, sources and fingerprint of the data fitted on."""
    y = np.asarray(labels, dtype=np.int64)
    info: dict[str, Any] = {
        "n_images": int(y.size),
        "n_real": int((y == 0).sum()),
        "n_animated": int((y == 1).sum()),
        "sha256": training_fingerprint(images, y),
    }
    if sources is not None:
        info["sources"] = sorted(set(np.asarray(sources).tolist()))
    if root is not None:
        info["data"] = root
    return info


def _fitted_state(classifier: ImageClassifier) -> dict[str, Any]:
    state = {k: v for k, v in vars(classifier).items() if k.endswith("_") and not k.startswith("_")}
    if "model_" not in state:
        raise ValueError(f"{type(classifier).__name__} is not fitted; fit it before saving")
    return state


def _json_params(classifier: ImageClassifier) -> dict[str, Any]:
    params: dict[str, Any] = classifier.get_params(deep=False)
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"parameters of {type(classifier).__name__} are not plain JSON values: {exc}") from None
    return params


def save_model(
    classifier: ImageClassifier, path: str | os.PathLike[str], *, training: dict[str, Any] | None = None
) -> Path:
    """Write fitted ``classifier`` to ``path`` (atomically); ``training`` is :func:`describe_training`'s block."""
    import skops  # type: ignore[import-untyped]
    import skops.io as sio  # type: ignore[import-untyped]

    name = classifier_name(classifier)
    payload = sio.dumps(_fitted_state(classifier), compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "classifier": name,
        "params": _json_params(classifier),
        "feature_names": list(classifier.feature_names),
        "training": training or {},
        "versions": {
            "imgclass": __version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "skops": skops.__version__,
        },
        "payload_format": "skops",
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "payload": base64.b64encode(payload).decode("ascii"),
    }
    target = Path(path)
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".model-", dir=target.parent if str(target.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        # mkstemp creates the file private (0600); a model file is as shareable as any other output.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_model_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked metadata of a model file (everything but the payload), without loading the model."""
    document = _read_document(Path(path))
    return {k: v for k, v in document.items() if k != "payload"}


def _read_document(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValueError(f"{path}: cannot read model file: {exc.strerror or exc}") from None
    if size > MAX_MODEL_BYTES:
        raise ValueError(f"{path}: model file of {size} bytes is over the {MAX_MODEL_BYTES}-byte limit")
    try:
        document = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a model file (invalid JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path}: not an imgclass model file")
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path}: model format version {version!r} is not supported (this imgclass reads {FORMAT_VERSION})"
        )
    for key, kind in (("classifier", str), ("params", dict), ("feature_names", list), ("payload", str)):
        if not isinstance(document.get(key), kind):
            raise ValueError(f"{path}: model file field {key!r} is missing or not a {kind.__name__}")
    if document.get("payload_format") != "skops":
        raise ValueError(f"{path}: unknown payload format {document.get('payload_format')!r}")
    return document


def load_model(path: str | os.PathLike[str]) -> ImageClassifier:
    """Load a model file written by :func:`save_model`; refuses (``ValueError``) anything it cannot trust."""
    import skops.io as sio  # type: ignore[import-untyped]

    path = Path(path)
    document = _read_document(path)
    name = document["classifier"]
    registry = _registry()
    if name not in registry:
        raise ValueError(f"{path}: unknown classifier {name!r}; this imgclass knows {', '.join(registry)}")
    try:
        classifier: ImageClassifier = registry[name](**document["params"])
    except TypeError as exc:
        raise ValueError(f"{path}: parameters do not fit classifier {name!r}: {exc}") from None
    expected = list(classifier.feature_names)
    if expected and document["feature_names"] != expected:
        raise ValueError(f"{path}: the model was fitted on other features than {name!r} computes now; refit it")
    try:
        payload = base64.b64decode(document["payload"], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{path}: model payload is not valid base64") from None
    if hashlib.sha256(payload).hexdigest() != document.get("payload_sha256"):
        raise ValueError(f"{path}: model payload does not match its checksum (corrupt or edited file)")
    types = _payload_types(path, payload)
    try:
        state = sio.loads(payload, trusted=sorted(types))
    except Exception as exc:  # skops raises many kinds on malformed archives
        raise ValueError(f"{path}: model payload cannot be loaded: {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and k.endswith("_") for k in state):
        raise ValueError(f"{path}: model payload is not a fitted state")
    if not callable(getattr(state.get("model_"), "predict", None)):
        raise ValueError(f"{path}: model payload has no fitted model")
    for key, value in state.items():
        setattr(classifier, key, value)
    return classifier


def _payload_types(path: Path, payload: bytes) -> set[str]:
    """Every type the payload's schema names, after checking each one (and each node kind) is trusted."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_PAYLOAD_UNZIPPED:
                raise ValueError(f"{path}: model payload unpacks to more than {MAX_PAYLOAD_UNZIPPED} bytes")
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: model payload is unreadable: {exc}") from None
    types: set[str] = set()
    nodes: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__module__" in node or "__class__" in node:
                types.add(f"{node.get('__module__')}.{node.get('__class__')}")
            if "__loader__" in node:
                nodes.add(str(node["__loader__"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    refused = sorted(types - TRUSTED_TYPES) + sorted(f"node {n}" for n in nodes - TRUSTED_NODES)
    if refused:
        raise ValueError(f"{path}: model payload uses types that are not trusted: {', '.join(refused)}")
    return types


def shipped_model_path(name: str) -> Path | None:
    """The model file shipped for classifier ``name``, or ``None`` if there is none."""
    path = MODEL_DIR / f"{name}.json"
    return path if path.is_file() else None


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MODEL_DIR",
    "TRUSTED_TYPES",
    "classifier_name",
    "describe_training",
    "load_model",
    "read_model_info",
    "save_model",
    "shipped_model_path",
    "training_fingerprint",
]
