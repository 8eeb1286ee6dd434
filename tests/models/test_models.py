import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from imgclass.classifiers import make_classifier
from imgclass.classifiers.fast import FastClassifier
from imgclass.models import (
    describe_training,
    load_model,
    read_model_info,
    save_model,
    shipped_model_path,
    training_fingerprint,
)

FAST = {"max_iter": 15, "min_samples_leaf": 2, "calibration_folds": 3}


@pytest.fixture(scope="module")
def fitted(tiny_set: tuple[list[bytes], np.ndarray]) -> FastClassifier:
    images, labels = tiny_set
    return FastClassifier(**FAST).fit(images, labels)


@pytest.fixture
def saved(tmp_path: Path, fitted: FastClassifier, tiny_set: tuple[list[bytes], np.ndarray]) -> Path:
    images, labels = tiny_set
    return save_model(fitted, tmp_path / "m.json", training=describe_training(images, labels))


def rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def rewrite_payload(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Edit the skops archive's schema, then fix the checksum, as an attacker would."""

    def edit(document: dict) -> None:  # type: ignore[type-arg]
        archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(document["payload"])))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as new:
            for item in archive.infolist():
                data = archive.read(item)
                if item.filename == "schema.json":
                    data = change(data.decode()).encode()
                new.writestr(item, data)
        payload = out.getvalue()
        document["payload"] = base64.b64encode(payload).decode()
        document["payload_sha256"] = hashlib.sha256(payload).hexdigest()

    rewrite(path, edit)


def test_round_trip_predicts_the_same(
    saved: Path, fitted: FastClassifier, tiny_set: tuple[list[bytes], np.ndarray]
) -> None:
    images, labels = tiny_set
    loaded = load_model(saved)
    assert isinstance(loaded, FastClassifier) and loaded.get_params() == fitted.get_params()
    assert np.array_equal(loaded.predict_proba(images), fitted.predict_proba(images))
    info = read_model_info(saved)
    assert info["classifier"] == "fast" and info["format_version"] == 1
    assert info["feature_names"] == list(FastClassifier.feature_names)
    assert info["training"]["n_images"] == 24 and info["training"]["sha256"] == training_fingerprint(images, labels)
    assert {"imgclass", "scikit-learn", "skops"} <= set(info["versions"])
    assert "payload" not in info and saved.stat().st_size < 1_000_000


def test_poster_classifiers_round_trip(tmp_path: Path, tiny_set: tuple[list[bytes], np.ndarray]) -> None:
    images, labels = tiny_set
    for name, params in (("byte-length", {}), ("byte-onehot", {}), ("byte-stream", {"model": "logistic"})):
        clf = make_classifier(name, **params).fit(images, labels)
        loaded = load_model(save_model(clf, tmp_path / f"{name}.json"))
        assert np.array_equal(loaded.predict(images), clf.predict(images))


def test_fingerprint_ignores_order_but_not_labels() -> None:
    images, labels = [b"a", b"b", b"c"], [0, 1, 1]
    assert training_fingerprint(images, labels) == training_fingerprint(images[::-1], labels[::-1])
    assert training_fingerprint(images, labels) != training_fingerprint(images, [1, 1, 1])


def test_unfitted_or_unregistered_classifiers_are_not_saved(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not fitted"):
        save_model(FastClassifier(), tmp_path / "m.json")

    class Custom(FastClassifier):
        pass

    with pytest.raises(ValueError, match="not a registered"):
        save_model(Custom(), tmp_path / "m.json")


def test_wrong_checksum_is_refused(saved: Path) -> None:
    def flip(document: dict) -> None:  # type: ignore[type-arg]
        payload = bytearray(base64.b64decode(document["payload"]))
        payload[len(payload) // 2] ^= 0xFF
        document["payload"] = base64.b64encode(bytes(payload)).decode()

    rewrite(saved, flip)
    with pytest.raises(ValueError, match="checksum"):
        load_model(saved)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # A type skops knows but we never allowed: its state would be rebuilt with code we did not vet.
        ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", "sklearn.svm._classes.SVC"),
        # A callable that could run anything.
        ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", "os.system"),
        # A type that exists nowhere.
        ("sklearn.calibration._SigmoidCalibration", "evil.Backdoor"),
    ],
)
def test_changed_or_unknown_type_names_are_refused(saved: Path, old: str, new: str) -> None:
    module, _, name = old.rpartition(".")
    new_module, _, new_name = new.rpartition(".")

    def swap(schema: str) -> str:
        assert f'"{module}"' in schema and f'"{name}"' in schema
        return schema.replace(f'"{module}"', f'"{new_module}"').replace(f'"{name}"', f'"{new_name}"')

    rewrite_payload(saved, swap)
    with pytest.raises(ValueError, match=r"not trusted|unreadable|cannot be loaded") as err:
        load_model(saved)
    assert new in str(err.value) or "payload" in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="something-else"), "not an imgclass model"),
        (lambda d: d.update(format_version=99), "version 99"),
        (lambda d: d.update(classifier="rm-rf"), "unknown classifier"),
        (lambda d: d["params"].update(bogus=1), "parameters do not fit"),
        (lambda d: d.update(feature_names=["a", "b"]), "other features"),
        (lambda d: d.update(payload="***"), "base64"),
        (lambda d: d.update(payload_format="pickle"), "payload format"),
        (lambda d: d.pop("params"), "params"),
    ],
)
def test_tampered_metadata_is_refused(saved: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    rewrite(saved, change)
    with pytest.raises(ValueError, match=message):
        load_model(saved)


def test_bad_json_and_missing_files_are_refused(tmp_path: Path, saved: Path) -> None:
    saved.write_text(saved.read_text()[:-50])
    with pytest.raises(ValueError, match="invalid JSON"):
        load_model(saved)
    with pytest.raises(ValueError, match="cannot read"):
        load_model(tmp_path / "nope.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not an imgclass model"):
        load_model(tmp_path / "list.json")


@pytest.mark.parametrize("name", ["fast", "combined", "byte-stream"])
def test_shipped_models_load(name: str) -> None:
    assert shipped_model_path("no-such-classifier") is None
    path = shipped_model_path(name)
    assert path is not None, f"imgclass/models/{name}.json is missing"
    model = load_model(path)
    assert type(model) is type(make_classifier(name)) and hasattr(model, "model_")
    info = read_model_info(path)
    assert info["training"]["n_images"] >= 400 and len(info["training"]["sources"]) >= 10
    assert path.stat().st_size < 1_000_000
