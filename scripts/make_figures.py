#!/usr/bin/env python3
"""Render the documentation's figures to ``docs/figures/`` from the package: one per notebook, and the results'.

    python scripts/make_figures.py [--data DIR] [--out DIR] [--only 01 04 ... results]

``--only results`` draws the figures of the committed results files (``docs/results/*.json``, see
``scripts/results.py``) into ``docs/figures/results/``, with the same :mod:`imgclass.plots` functions the
notebooks use; run it after remaking a results file.

Each figure is drawn by the same package functions the notebook calls, on the bundled reference set
(or ``--data``), with the notebooks' seeds, so the PNGs are the notebooks' findings and a rerun on the
same data gives the same pictures. Figure 05 starts a real server on 127.0.0.1 (port 0) for one round
trip of ten images; it shows verdicts, never timings, so it does not change from run to run.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from imgclass import plots
from imgclass.data import Dataset, load_dataset
from imgclass.decode import decode_image
from imgclass.exploration.blur_sweep import blur_sweep
from imgclass.exploration.colour_preview import share_curves, top_colour_preview
from imgclass.exploration.metrics import metrics_report
from imgclass.exploration.outliers import outlier_study
from imgclass.exploration.range_fitting import range_sweep
from imgclass.exploration.reencode import reencode_lengths, summarise
from imgclass.exploration.sampling import stratified_subset
from imgclass.exploration.tcp_demo import DEMO_CLASSIFIERS, pick_records, send_records, verify_stored
from imgclass.exploration.thresholds import roc, threshold_outcome
from imgclass.features.byte_lengths import byte_length_matrix

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import results  # noqa: E402  (scripts/results.py: the results files and their names)

SEED = 0
Figure = Callable[[Dataset], object]


def fig01(dataset: Dataset) -> object:
    measured = reencode_lengths(dataset)
    return plots.encoding_boxplots(measured, summarise(measured, seed=SEED))


def fig02(dataset: Dataset) -> object:
    lengths = byte_length_matrix(dataset.images)[:, 0]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(13, 4.2), layout="constrained")
    plots.range_sweep_plot(range_sweep(lengths, dataset.labels, seed=SEED), ax=ax0)
    plots.outlier_chart(outlier_study(lengths, dataset.labels, seed=SEED), ax=ax1)
    return fig


def fig03(dataset: Dataset) -> object:
    sample = stratified_subset(dataset, 120, seed=SEED)
    sweeps = [blur_sweep(sample, "diameter", seed=SEED), blur_sweep(sample, "sigma", seed=SEED)]
    fig = plots.blur_sweep_plot(sweeps)
    fig.suptitle("Bilateral filter: accuracy against blur level (120-image sample, 5-fold)")
    return fig


def fig04(dataset: Dataset) -> object:
    curves = share_curves(dataset)
    shares = curves.shares(512)
    rule = threshold_outcome(shares, dataset.labels, 0.3, 1)
    (tn, fp), (fn, tp) = rule.confusion
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    for ax, label in zip(axes[:2], (0, 1), strict=True):
        record = next(r for r in dataset.records if r.label == label)
        preview, share = top_colour_preview(decode_image(record.data), 512)
        plots.show_image(ax, preview, f"{record.label_name}: top 512 colours cover {share:.0%}")
    point = (fp / (tn + fp), tp / (tp + fn))
    plots.roc_plot(roc(shares, dataset.labels), ax=axes[2], label="N = 512", point=point, point_label="cut at 30%")
    axes[2].set_title(f"poster's rule (> 30%): accuracy {rule.accuracy:.2f}")
    return fig


def fig05(dataset: Dataset) -> object:
    from imgclass.transfer import ImageServer

    records = pick_records(dataset, 8, seed=SEED)
    with tempfile.TemporaryDirectory() as folder:
        with ImageServer("127.0.0.1", 0, out_dir=folder, classifiers=DEMO_CLASSIFIERS) as server:
            run = send_records(server.address, records)
        check = verify_stored(run, folder)
    if not check.all_match:
        raise ValueError("a stored file did not match what was sent")
    short = {"byte-length": "len", "byte-onehot": "1-hot", "colour-count": "col"}
    titles = [
        f"{r.label}\n" + " ".join(f"{short.get(c, c)} {'✓' if v == r.label else '✗'}" for c, v in r.verdicts)
        for r in run.rows
    ]
    # Small thumbnails keep the PNG small: photographs compress poorly.
    thumbs = [cv2.resize(decode_image(r.data), (112, 112), interpolation=cv2.INTER_AREA) for r in records]
    fig = plots.thumbnail_grid(thumbs, titles, columns=4, cell=1.5, fontsize=7)
    fig.suptitle(
        "Eight images over TCP, all stored intact (SHA-256). True class; verdicts of\n"
        "byte-length (len), byte-onehot (1-hot) and colour-count (col)",
        fontsize=8,
    )
    return fig


def fig06(dataset: Dataset) -> object:
    stratified = metrics_report(dataset, seed=SEED)
    by_source = metrics_report(dataset, cv="source", seed=SEED)
    return plots.protocol_chart([stratified, by_source])


def _as_report(rows: list[dict[str, Any]]) -> SimpleNamespace:
    """A report-shaped view of results-file rows, for the plots that take a :class:`~imgclass.evaluation.Report`."""

    def row(r: dict[str, Any]) -> SimpleNamespace:
        per = r["per_domain"] if r["protocol"] == "by-domain" else r["per_source"]
        groups = [SimpleNamespace(**{**g, "source": g.get("source") or g.get("domain")}) for g in per]
        return SimpleNamespace(**{**r, "per_source": groups})

    return SimpleNamespace(classifiers=[row(r) for r in rows])


def _held_out(name: str, protocol: str, classifiers: tuple[str, ...]) -> list[dict[str, Any]]:
    # v2-refit: its results file, or the page of its first record until that is made.
    rows = results.v2_refit(protocol) if name == "v2-refit" else results.protocol_rows(results.load(name), protocol)
    return [rows[c] for c in classifiers]


def results_figures(out: Path) -> list[Path]:
    """The per-source and per-domain heat maps of the results files that exist."""
    wanted = [
        ("poster-per-source.png", "poster", "by-source", results.POSTER_CLASSIFIERS),
        ("reference-models-per-source.png", "reference-refit", "by-source", results.MODELS),
        ("v2-per-domain.png", "v2-refit", "by-domain", results.EVERY_CLASSIFIER),
    ]
    written = []
    for file_name, name, protocol, classifiers in wanted:
        if not results.RESULTS[name].path.exists() and name != "v2-refit":
            print(f"{file_name}: skipped, no results file {results.RESULTS[name].path.name} (scripts/results.py make)")
            continue
        fig = plots.per_source_chart(_as_report(_held_out(name, protocol, classifiers)))
        path = out / file_name
        fig.savefig(path, dpi=80, metadata={"Software": None}, pil_kwargs={"optimize": True})
        plt.close("all")
        written.append(path)
    return written


FIGURES: dict[str, tuple[str, Figure]] = {
    "01": ("01_byte_lengths.png", fig01),
    "02": ("02_one_hot_ranges.png", fig02),
    "03": ("03_bilateral_blur.png", fig03),
    "04": ("04_colour_count.png", fig04),
    "05": ("05_tcp_demo.png", fig05),
    "06": ("06_metrics.png", fig06),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="folder with real/ and animated/ (default: bundled)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "figures", help="output folder")
    parser.add_argument(
        "--only", nargs="*", choices=[*sorted(FIGURES), "results"], help="just these notebooks' figures, or results'"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only is None or "results" in args.only:
        (args.out / "results").mkdir(exist_ok=True)
        for path in results_figures(args.out / "results"):
            print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    keys = [k for k in args.only or sorted(FIGURES) if k != "results"]
    dataset = load_dataset(args.data) if keys else None
    for key in keys:
        assert dataset is not None
        name, draw = FIGURES[key]
        start = time.perf_counter()
        fig = draw(dataset)
        path = args.out / name
        # No software version or date in the file: the same data gives the same bytes.
        fig.savefig(path, dpi=80, metadata={"Software": None}, pil_kwargs={"optimize": True})  # type: ignore[attr-defined]
        plt.close("all")
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: "
              f"{path.stat().st_size / 1024:.0f} KB in {time.perf_counter() - start:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
