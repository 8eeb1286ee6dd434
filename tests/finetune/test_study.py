"""``scripts/finetune.py`` on a tiny v2-style folder: the study's page and JSON, the nested choices made
without the held-out domain, a rerun that only predicts, and ``train``'s network with its fingerprint."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from imgclass.features.embedding import network_input
from imgclass.features.working_image import decode_working
from tests.conftest import write_tiny_v2

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "finetune.py"
DOMAINS = {"real": ("photos_a", "photos_b", "photos_c"), "animated": ("cartoons_a", "cartoons_b", "cartoons_c")}


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("finetune_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["finetune_script"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three domains of each class (the nested rule needs two of each once one is held out), 8 images each."""
    return write_tiny_v2(tmp_path_factory.mktemp("v2"), DOMAINS)


def test_the_study_page_has_every_variant_domain_and_nested_choice(script, tiny_v2: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, work = tmp_path / "v2-finetune.md", tmp_path / "work"
    args = ["study", "--data", str(tiny_v2), "--work", str(work), "--bases", "nsfwjs", "--depths", "probe", "conv",
            "--mix", "nsfwjs:conv", "--stress", "shrink-96", "--stress-per-domain", "2", "--out", str(out)]
    assert script.main(args) == 0
    text = out.read_text()
    header = "| domain | n | real | animated | `fast` | `combined@10` | `combined` | `nsfwjs:probe` | `nsfwjs:conv` |"
    assert header + " `mix:nsfwjs:conv` |" in text
    for domain in (*DOMAINS["real"], *DOMAINS["animated"], "*faces* (slice)"):
        assert f"| {domain} | " in text
    assert "| `combined` | " in text and "shrink-96" in text
    record = json.loads(out.with_suffix(".json").read_text())
    assert set(record["accuracy"]["mix:nsfwjs:conv"]) == {"clean", "shrink-96"}
    # One nested choice per held-out domain, from the grids, each made on the other five domains.
    choices = record["choices"]["mix:nsfwjs:conv"]
    assert sorted(choices) == sorted((*DOMAINS["real"], *DOMAINS["animated"]))
    assert {c["hand_weight"] for c in choices.values()} <= {1.0, 3.0, 10.0, 30.0}
    assert all(0 <= c["network_weight"] <= 1 for c in choices.values())
    # Every fold's top is on disk (outer and both inner halves): a rerun trains nothing and says the same.
    tops = sorted(p.name for p in (work / "results" / "nsfwjs-conv-e1-s0-c1").glob("*.npz"))
    assert len(tops) == 3 * 6 and "photos_a~A.npz" in tops
    stamps = {p: p.stat().st_mtime_ns for p in (work / "results").rglob("*.npz")}
    assert script.main(args) == 0
    assert {p: p.stat().st_mtime_ns for p in (work / "results").rglob("*.npz")} == stamps
    assert out.read_text().split("This run:")[0] == text.split("This run:")[0]


def test_the_held_out_domain_never_moves_its_own_scores(script, tiny_v2: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Flipping labels in the held-out domain changes nothing its fold fitted or chose."""
    from imgclass.finetune.study import Workbench, read_study_set, run_study
    from imgclass.finetune.train import TopConfig

    study = read_study_set(tiny_v2)
    nets = script.graphs(tmp_path, ["nsfwjs"])
    config = TopConfig(base="nsfwjs", depth="conv", epochs=1.0)

    def held_out_scores(labels: np.ndarray, results: Path) -> dict[str, np.ndarray]:
        bench = script.workbench(study, tmp_path, nets, 1, (), 0, 1)
        bench = Workbench(replace(study, labels=labels), bench.cache, bench.graphs, bench.copies, (), bench.stress_rows)
        result = run_study(bench, [config], mixed=[config], results=results)
        held = study.domains == "photos_b"
        return {v: p["clean"][held] for v, p in result.probabilities.items()}

    flipped = study.labels.copy()
    flipped[np.flatnonzero(study.domains == "photos_b")[:3]] = 1  # still mostly real: the same inner halves
    a = held_out_scores(study.labels, tmp_path / "a")
    b = held_out_scores(flipped, tmp_path / "b")
    assert set(a) == {"fast", "combined@10", "combined", "nsfwjs:conv", "mix:nsfwjs:conv"}
    for variant in a:
        np.testing.assert_allclose(a[variant], b[variant], err_msg=variant)


def test_train_writes_the_network_cv2_runs_with_its_fingerprint(script, tiny_v2: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "network"
    args = ["train", "--data", str(tiny_v2), "--work", str(tmp_path / "work"), "--base", "nsfwjs", "--depth",
            "conv", "--out", str(out)]
    assert script.main(args) == 0
    record = json.loads((out / "training.json").read_text())
    data = (out / "network.onnx").read_bytes()
    assert record["network_sha256"] == hashlib.sha256(data).hexdigest() and record["network_bytes"] == len(data)
    assert record["data"]["manifest_sha256"] == hashlib.sha256((tiny_v2 / "manifest.csv").read_bytes()).hexdigest()
    assert record["config"]["base"] == "nsfwjs" and record["config"]["depth"] == "conv"
    assert (out / "README.md").read_text().count(record["network_sha256"]) == 1
    net = cv2.dnn.readNetFromONNX(np.frombuffer(data, np.uint8))
    photo = decode_working((tiny_v2 / "real" / "photos_a_0.jpg").read_bytes())
    net.setInput(network_input([photo], 128))
    assert np.isfinite(np.asarray(net.forward("logit"))).all()


def test_frozen_features_of_a_new_stress_subset_are_made_not_read(script, tiny_v2: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from imgclass.finetune.study import Workbench, read_study_set

    study = read_study_set(tiny_v2)
    nets = script.graphs(tmp_path, ["nsfwjs"])
    first, second = np.zeros(len(study.keys), bool), np.zeros(len(study.keys), bool)
    first[:6], second[3:9] = True, True

    def frozen(work: Path, subset: np.ndarray) -> np.ndarray:
        bench = script.workbench(study, work, nets, 1, ("shrink-96",), 0, 1)
        return Workbench(study, bench.cache, nets, 1, ("shrink-96",), subset).frozen("nsfwjs", "shrink-96")

    frozen(tmp_path / "a", first)
    reused = frozen(tmp_path / "a", second)  # the first subset's file is on disk
    fresh = frozen(tmp_path / "b", second)
    np.testing.assert_allclose(reused[second], fresh[second], rtol=1e-5, atol=1e-5)
    assert not (reused[~second] != 0).any() and (reused[second] != 0).any()
