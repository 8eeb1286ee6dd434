"""Every registered classifier keeps the same contract, including classifiers added after this file.

Parametrised from :data:`imgclass.classifiers.REGISTRY`, so a new entry is covered without editing here:

* scikit-learn's estimator checks that fit an estimator on encoded bytes. scikit-learn skips its whole
  suite for input it cannot generate (our ``string`` input tag), so we run the checks that need no data
  (:data:`SKLEARN_API_CHECKS`: construction, parameters, cloning, repr, tags) and byte-input versions of
  the data checks that matter here: fit returns the estimator and leaves its parameters alone, refitting
  gives the same model, an unfitted learner refuses to predict, probabilities are well formed and agree
  with ``predict``, and predictions do not depend on the batch (order, subsets, one image at a time);
* save -> load gives identical predictions, and a tampered model file is refused with ``ValueError``;
* :func:`imgclass.ready.ready` accepts the name and the saved file (the server and bulk resolve through it);
* ``imgclass evaluate --model FILE`` scores the saved file.

Fits use tiny synthetic images and small parameters (:func:`small`) to stay well under a minute.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks

from imgclass.classifiers import REGISTRY, ImageClassifier, make_classifier
from imgclass.cli import main
from imgclass.models import describe_training, load_model, save_model
from imgclass.ready import pretrained, ready

NAMES = tuple(REGISTRY)
Images = tuple[list[bytes], np.ndarray]

#: scikit-learn checks that need no training data, so they apply to estimators on encoded bytes.
SKLEARN_API_CHECKS: tuple[Callable[..., Any], ...] = (
    estimator_checks.check_parameters_default_constructible,
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_estimator_cloneable,
    estimator_checks.check_estimator_repr,
    estimator_checks.check_estimator_tags_renamed,
    estimator_checks.check_valid_tag_types,
)

#: Caps on parameters that only cost time (applied where a classifier has them): small boosting runs,
#: few calibration folds, small leaves for 24 images, a smaller resize for the colour count.
SMALL_CAPS = {
    "max_iter": 15,
    "n_estimators": 10,
    "min_samples_leaf": 2,
    "calibration_folds": 3,
    "size": 128,
    "side": 64,
    "colour_side": 32,
}


def small(name: str) -> ImageClassifier:
    """``make_classifier(name)`` with :data:`SMALL_CAPS` applied to the parameters it has."""
    params = make_classifier(name).get_params(deep=False)
    changes = {
        key: cap
        for key, cap in SMALL_CAPS.items()
        if isinstance(params.get(key), int) and not isinstance(params.get(key), bool) and params[key] > cap
    }
    return make_classifier(name, **changes)


def learns(classifier: ImageClassifier) -> bool:
    return bool(classifier.__sklearn_tags__().requires_fit)


@pytest.fixture(scope="module")
def fitted(tiny_set: Images) -> dict[str, ImageClassifier]:
    images, labels = tiny_set
    return {name: small(name).fit(images, labels) for name in NAMES}


@pytest.fixture(scope="module")
def saved(
    tmp_path_factory: pytest.TempPathFactory, fitted: dict[str, ImageClassifier], tiny_set: Images
) -> dict[str, Path]:
    images, labels = tiny_set
    folder = tmp_path_factory.mktemp("models")
    return {
        name: save_model(model, folder / f"{name}.json", training=describe_training(images, labels))
        for name, model in fitted.items()
    }


@pytest.mark.parametrize("check", SKLEARN_API_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_sklearn_checks_without_data(name: str, check: Callable[..., Any]) -> None:
    check(name, make_classifier(name))


@pytest.mark.parametrize("name", NAMES)
def test_fit_predict_contract_on_bytes(name: str, fitted: dict[str, ImageClassifier], tiny_set: Images) -> None:
    images, _ = tiny_set
    model = fitted[name]
    assert model.classes_.tolist() == [0, 1]
    proba = model.predict_proba(images)
    assert proba.shape == (len(images), 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    pred = model.predict(images)
    assert set(pred.tolist()) <= {0, 1}
    decided = np.abs(proba[:, 1] - 0.5) > 1e-9
    np.testing.assert_array_equal((pred == 1)[decided], (proba[:, 1] > 0.5)[decided])
    assert model.decision_function(images).shape == (len(images),)
    np.testing.assert_array_equal(model.predict_features(model.extract_features(images)), pred)
    assert model.fitted_model() is not None


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_keeps_params_and_refits_the_same(name: str, tiny_set: Images) -> None:
    images, labels = tiny_set
    model = small(name)
    params = model.get_params(deep=False)
    public = {k for k in vars(model) if not k.endswith("_")}
    assert model.fit(images, labels) is model
    assert model.get_params(deep=False) == params  # check_dont_overwrite_parameters, on bytes
    assert {k for k in vars(model) if not k.endswith("_") and not k.startswith("_")} == public
    first = model.predict_proba(images)
    np.testing.assert_array_equal(model.fit(images, labels).predict_proba(images), first)  # idempotent
    # A clone is unfitted with the same parameters (a learner then refuses to predict).
    fresh = clone(model)
    assert fresh.get_params(deep=False) == params and not hasattr(fresh, "model_")
    if learns(fresh):
        with pytest.raises(NotFittedError):
            fresh.predict(images[:1])
    else:
        np.testing.assert_array_equal(fresh.predict(images), model.predict(images))


@pytest.mark.parametrize("name", NAMES)
def test_predictions_do_not_depend_on_the_batch(
    name: str, fitted: dict[str, ImageClassifier], tiny_set: Images
) -> None:
    images, _ = tiny_set
    model = fitted[name]
    whole = model.predict_proba(images)
    order = np.random.default_rng(0).permutation(len(images))
    np.testing.assert_allclose(model.predict_proba([images[i] for i in order]), whole[order], rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.predict_proba(images[3:7]), whole[3:7], rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.predict_proba(images[5:6]), whole[5:6], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(
    name: str, fitted: dict[str, ImageClassifier], saved: dict[str, Path], tiny_set: Images
) -> None:
    images, _ = tiny_set
    loaded = load_model(saved[name])
    assert type(loaded) is type(fitted[name]) and loaded.get_params() == fitted[name].get_params()
    np.testing.assert_array_equal(loaded.predict_proba(images), fitted[name].predict_proba(images))


def _flip_payload_byte(document: dict[str, Any]) -> None:
    payload = bytearray(base64.b64decode(document["payload"]))
    payload[len(payload) // 2] ^= 0xFF
    document["payload"] = base64.b64encode(bytes(payload)).decode()


TAMPERINGS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "payload byte": (_flip_payload_byte, "checksum"),
    "checksum": (lambda d: d.update(payload_sha256="0" * 64), "checksum"),
    "unknown parameter": (lambda d: d["params"].update(bogus=1), "parameters do not fit"),
    "other classifier": (lambda d: d.update(classifier="no-such-classifier"), "unknown classifier"),
    "feature names": (lambda d: d.update(feature_names=["x"] * 99), "other features"),
}


@pytest.mark.parametrize("tampering", TAMPERINGS)
@pytest.mark.parametrize("name", NAMES)
def test_a_tampered_model_file_is_refused(name: str, tampering: str, saved: dict[str, Path], tmp_path: Path) -> None:
    change, message = TAMPERINGS[tampering]
    document = json.loads(saved[name].read_text())
    if tampering == "feature names" and not document["feature_names"]:
        pytest.skip(f"{name} declares no feature names to check")
    change(document)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=message):
        load_model(path)
    with pytest.raises(ValueError, match=message):
        ready(path)


@pytest.fixture
def tiny_reference(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The bundled set replaced by the tiny one, so a name without a shipped model fits in moments."""
    monkeypatch.setenv("IMGCLASS_DATA", str(tiny_dir))
    pretrained.cache_clear()
    yield tiny_dir
    pretrained.cache_clear()  # no tiny-set fit may leak into other tests


@pytest.mark.parametrize("name", NAMES)
def test_ready_accepts_the_name_and_the_saved_file(
    name: str, fitted: dict[str, ImageClassifier], saved: dict[str, Path], tiny_set: Images, tiny_reference: Path
) -> None:
    images, _ = tiny_set
    by_name = ready(name)
    assert by_name.name == name and type(by_name.estimator) is type(make_classifier(name))
    scores = by_name.scores(images[:3])
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    by_file = ready(saved[name])
    assert by_file.name == saved[name].name
    np.testing.assert_array_equal(by_file.predict_proba(images), fitted[name].predict_proba(images))


@pytest.mark.parametrize("name", NAMES)
def test_the_cli_scores_the_saved_file(
    name: str, saved: dict[str, Path], tiny_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", str(tiny_dir), "--train", str(tiny_dir), "--model", str(saved[name])]
    assert main([*argv, "--cv", "none", "--no-robustness", "--json", "--no-progress"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["classifiers"]
    assert row["name"] == f"{name}:{saved[name].name}" and row["n"] == 24 and row["protocol"] == "held-out"
