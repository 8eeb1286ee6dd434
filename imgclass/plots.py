"""Matplotlib figures for the notebooks, the README and ``imgclass reproduce --plot``."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None  # keep notebooks' backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from imgclass.evaluation import Report  # noqa: E402


def metrics_bar_chart(report: Report, *, ax: Any = None) -> Any:
    """Accuracy per classifier, ours (with its 95% Wilson interval) beside the poster's figure."""
    if ax is None:
        _fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    names = [c.name for c in report.classifiers]
    x = np.arange(len(names))
    ours = np.array([c.accuracy for c in report.classifiers])
    err = np.array([[c.accuracy - c.ci95[0], c.ci95[1] - c.accuracy] for c in report.classifiers]).T
    poster = [c.poster if c.poster is not None else np.nan for c in report.classifiers]
    ax.bar(x - 0.2, ours, 0.4, yerr=err, capsize=4, label="imgclass (95% CI)", color="#3b75af")
    ax.bar(x + 0.2, poster, 0.4, label="poster (83 images)", color="#bbbbbb")
    for xi, value in zip(x, ours, strict=True):
        ax.text(xi - 0.2, 0.02, f"{value:.2f}", ha="center", va="bottom", color="white", fontsize=9)
    ax.axhline(0.5, color="black", lw=0.8, ls=":", label="chance")
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.15)  # headroom so the legend sits above the bars, never on them
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("accuracy")
    ax.set_title(f"Real vs animated: n = {report.classifiers[0].n if report.classifiers else 0}")
    ax.legend(loc="upper center", ncols=3, fontsize=8, frameon=False)
    return ax.figure


# --- Notebook figures -------------------------------------------------------------------------------
# Each takes results from imgclass.exploration (or plain arrays) and returns the matplotlib Figure.

CLASS_COLOURS = ("#3b75af", "#e1812c")  # real, animated
CLASS_NAMES = ("real", "animated")


def _rgb(image: Any) -> Any:
    """BGR (OpenCV) to RGB (matplotlib)."""
    return np.ascontiguousarray(np.asarray(image)[..., ::-1])


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is None:
        _fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def length_distributions(lengths: Any, labels: Any, *, bins: int = 30) -> Any:
    """Histograms (top) and box plots (bottom) of the byte, hex and base64 lengths per class."""
    lengths = np.asarray(lengths, dtype=float)
    labels = np.asarray(labels)
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.5), layout="constrained", height_ratios=(3, 2))
    for j, title in enumerate(("bytes", "hex characters", "base64 characters")):
        column = lengths[:, j] / 1e3
        edges = np.histogram_bin_edges(column, bins=bins)
        for k, name in enumerate(CLASS_NAMES):
            axes[0, j].hist(column[labels == k], bins=edges, alpha=0.6, color=CLASS_COLOURS[k], label=name)
        axes[0, j].set_title(f"length in {title}")
        axes[0, j].set_xlabel("thousands")
        box = axes[1, j].boxplot(
            [column[labels == k] for k in (0, 1)], orientation="horizontal", tick_labels=CLASS_NAMES, patch_artist=True
        )
        for patch, colour in zip(box["boxes"], CLASS_COLOURS, strict=True):
            patch.set_facecolor(colour)
            patch.set_alpha(0.6)
        axes[1, j].set_xlabel("thousands")
    axes[0, 0].set_ylabel("images")
    axes[0, 0].legend()
    return fig


def length_identities(lengths: Any) -> Any:
    """Hex and base64 length against byte length, with the lines ``2n`` and ``4n/3`` drawn under them."""
    lengths = np.asarray(lengths, dtype=float)
    fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
    n = lengths[:, 0]
    grid = np.linspace(0, n.max() * 1.05, 50)
    ax.plot(grid / 1e3, 2 * grid / 1e3, color="grey", lw=4, alpha=0.4, label="2n")
    ax.plot(grid / 1e3, 4 * grid / 3e3, color="grey", lw=4, alpha=0.4, ls="--", label="4n/3")
    ax.scatter(n / 1e3, lengths[:, 1] / 1e3, s=8, label="hex")
    ax.scatter(n / 1e3, lengths[:, 2] / 1e3, s=8, label="base64")
    ax.set_xlabel("bytes (thousands)")
    ax.set_ylabel("characters (thousands)")
    ax.set_title("hex and base64 are functions of the byte length")
    ax.legend()
    return fig


def encoding_boxplots(measured: Any, summaries: Any = None) -> Any:
    """Length per encoding and class (log scale) for the same pixels; the AUC of length above each pair."""
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    labels = np.asarray(measured.labels)
    positions, data, colours = [], [], []
    for i, row in enumerate(measured.lengths):
        for k in (0, 1):
            positions.append(3 * i + k)
            data.append(row[labels == k] / 1e3)
            colours.append(CLASS_COLOURS[k])
    box = ax.boxplot(data, positions=positions, widths=0.8, patch_artist=True, showfliers=True)
    for patch, colour in zip(box["boxes"], colours, strict=True):
        patch.set_facecolor(colour)
        patch.set_alpha(0.6)
    ax.set_yscale("log")
    ax.set_xticks([3 * i + 0.5 for i in range(len(measured.encodings))], measured.encodings)
    ax.set_ylabel("file size (KB, log scale)")
    if summaries is not None:
        top = max(float(np.max(d)) for d in data)
        for i, s in enumerate(summaries):
            ax.text(3 * i + 0.5, top * 1.25, f"AUC {s.auc:.2f}\nacc {s.accuracy.accuracy:.2f}", ha="center", fontsize=8)
        ax.set_ylim(top=top * 2.2)
    handles = [Rectangle((0, 0), 1, 1, color=c, alpha=0.6) for c in CLASS_COLOURS]
    ax.legend(handles, CLASS_NAMES, loc="lower right")
    ax.set_title("Same pixels, four encodings: the container moves the size more than the class does")
    return fig


def ranges_over_histogram(lengths: Any, labels: Any, edges: Any, *, ax: Any = None, title: str = "") -> Any:
    """Byte-length histogram per class with the one-hot range edges drawn over it."""
    ax = _axes(ax, (8, 3.6))
    x = np.asarray(lengths, dtype=float)
    x = (x[:, 0] if x.ndim == 2 else x) / 1e3
    labels = np.asarray(labels)
    bins = np.histogram_bin_edges(x, bins=40)
    for k, name in enumerate(CLASS_NAMES):
        ax.hist(x[labels == k], bins=bins, alpha=0.6, color=CLASS_COLOURS[k], label=name)
    for edge in np.asarray(edges, dtype=float) / 1e3:
        ax.axvline(edge, color="black", lw=1)
    ax.set_xlabel("file size (KB)")
    ax.set_ylabel("images")
    ax.set_title(title or f"{len(edges) + 1} ranges")
    ax.legend()
    return ax.figure


def range_sweep_plot(sweep: Any, *, ax: Any = None) -> Any:
    """Cross-validated accuracy against the number of ranges, one line per strategy."""
    ax = _axes(ax, (7, 3.8))
    for name, row in zip(sweep.strategies, sweep.scores, strict=True):
        ax.plot(sweep.n_ranges, [s.accuracy for s in row], marker="o", label=name)
    base = sweep.baseline
    ax.axhspan(base.ci95[0], base.ci95[1], color="grey", alpha=0.15, label="one threshold (95% CI)")
    ax.axhline(base.accuracy, color="grey", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sweep.n_ranges, [str(n) for n in sweep.n_ranges])
    ax.set_xlabel("number of ranges")
    ax.set_ylabel("5-fold accuracy")
    ax.set_title("One-hot ranges of the byte length")
    ax.legend(fontsize=8)
    return ax.figure


def outlier_chart(rows: Any, *, ax: Any = None) -> Any:
    """Accuracy of each byte-length model with clean training folds and with outliers added."""
    ax = _axes(ax, (8, 3.6))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r.clean.accuracy for r in rows], 0.4, label="clean", color="#3b75af")
    ax.bar(x + 0.2, [r.with_outliers.accuracy for r in rows], 0.4, label="with outliers", color="#c44e52")
    ax.set_xticks(x, [r.model for r in rows], rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("5-fold accuracy")
    ax.set_title("A few huge files in the training folds")
    ax.legend(loc="lower right", fontsize=8)
    return ax.figure


def before_after(pairs: Any, *, titles: Any = ("before", "after")) -> Any:
    """A grid of (label, before, after) rows of BGR images."""
    pairs = list(pairs)
    fig, axes = plt.subplots(len(pairs), 2, figsize=(6, 3 * len(pairs)), layout="constrained", squeeze=False)
    for row, (label, before, after) in zip(axes, pairs, strict=True):
        for ax, image, title in zip(row, (before, after), titles, strict=True):
            ax.imshow(_rgb(image))
            ax.set_title(f"{label}: {title}", fontsize=9)
            ax.axis("off")
    return fig


def confusion_matrix_plot(outcome: Any, *, ax: Any = None) -> Any:
    """The 2x2 confusion matrix of a :class:`~imgclass.exploration.thresholds.ThresholdOutcome`."""
    ax = _axes(ax, (3.2, 3))
    cm = np.asarray(outcome.confusion)
    ax.imshow(cm, cmap="Blues", vmin=0, vmax=max(int(cm.sum(axis=1).max()), 1))
    for i in (0, 1):
        for j in (0, 1):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="black", fontsize=12)
    ax.set_xticks((0, 1), CLASS_NAMES)
    ax.set_yticks((0, 1), CLASS_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"accuracy {outcome.accuracy:.3f}")
    return ax.figure


def score_histogram(
    scores: Any, labels: Any, *, threshold: float | None = None, xlabel: str = "score", ax: Any = None, bins: int = 30
) -> Any:
    """Distribution of a one-number feature per class, with the threshold drawn."""
    ax = _axes(ax, (6, 3.4))
    s = np.asarray(scores, dtype=float)
    labels = np.asarray(labels)
    edges = np.histogram_bin_edges(s, bins=bins)
    for k, name in enumerate(CLASS_NAMES):
        ax.hist(s[labels == k], bins=edges, alpha=0.6, color=CLASS_COLOURS[k], label=name)
    if threshold is not None:
        ax.axvline(threshold, color="black", lw=1.5, ls="--", label=f"threshold {threshold:.3g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("images")
    ax.legend(fontsize=8)
    return ax.figure


def blur_sweep_plot(sweeps: Any) -> Any:
    """Accuracy (with 95% intervals) against each swept knob of the bilateral filter."""
    sweeps = list(sweeps)
    fig, axes = plt.subplots(1, len(sweeps), figsize=(5 * len(sweeps), 3.6), layout="constrained", squeeze=False)
    for ax, sweep in zip(axes[0], sweeps, strict=True):
        acc = np.array([s.accuracy for s in sweep.scores])
        low = acc - np.array([s.ci95[0] for s in sweep.scores])
        high = np.array([s.ci95[1] for s in sweep.scores]) - acc
        ax.errorbar(sweep.levels, acc, yerr=[low, high], marker="o", capsize=3)
        ax.axhline(0.5, color="black", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xticks(sweep.levels, [f"{v:g}" for v in sweep.levels])
        ax.minorticks_off()
        label = "diameter d" if sweep.axis == "diameter" else "sigmaColor = sigmaSpace"
        ax.set_xlabel(label)
        ax.set_ylabel("5-fold accuracy")
        ax.set_ylim(0.3, 1.0)
        ax.set_title(f"accuracy against {label}")
    return fig


def colour_preview_grid(rows: Any) -> Any:
    """Rows of (label, original BGR, preview BGR, share): the poster's colour-count preview."""
    rows = list(rows)
    fig, axes = plt.subplots(len(rows), 2, figsize=(6, 3 * len(rows)), layout="constrained", squeeze=False)
    for (ax0, ax1), (label, original, preview, share) in zip(axes, rows, strict=True):
        ax0.imshow(_rgb(original))
        ax0.set_title(f"{label}", fontsize=9)
        ax1.imshow(_rgb(preview))
        ax1.set_title(f"top colours kept: {share:.0%} of pixels", fontsize=9)
        ax0.axis("off")
        ax1.axis("off")
    return fig


def roc_plot(
    curve: Any, *, ax: Any = None, label: str = "", point: Any = None, point_label: str = "chosen threshold"
) -> Any:
    """An ROC curve with its AUC and 95% interval; ``point`` marks one threshold's (FPR, TPR)."""
    ax = _axes(ax, (4.2, 4))
    text = f"AUC {curve.auc:.3f} [{curve.auc_ci95[0]:.2f}, {curve.auc_ci95[1]:.2f}]"
    ax.plot(curve.fpr, curve.tpr, label=f"{label} {text}".strip())
    ax.plot((0, 1), (0, 1), color="black", lw=0.8, ls=":")
    if point is not None:
        ax.plot(*point, marker="o", color="black", ls="none", label=point_label)
    ax.set_xlabel("false positive rate (real called animated)")
    ax.set_ylabel("true positive rate")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8)
    return ax.figure


def protocol_chart(reports: Any, *, ax: Any = None) -> Any:
    """Accuracy per classifier under each protocol (with 95% intervals), beside the poster's figures."""
    reports = list(reports)
    ax = _axes(ax, (8, 4))
    names = [c.name for c in reports[0].classifiers]
    x = np.arange(len(names))
    width = 0.8 / (len(reports) + 1)
    palette = ("#3b75af", "#55a868", "#8172b2")
    for i, report in enumerate(reports):
        acc = np.array([c.accuracy for c in report.classifiers])
        err = np.array([[c.accuracy - c.ci95[0], c.ci95[1] - c.accuracy] for c in report.classifiers]).T
        protocols = sorted({c.protocol for c in report.classifiers if c.protocol != "fixed rule"})
        label = " / ".join(protocols) or report.settings.get("cv", "")
        offset = (i - len(reports) / 2) * width
        ax.bar(x + offset, acc, width, yerr=err, capsize=3, label=label, color=palette[i % len(palette)])
    poster = [c.poster if c.poster is not None else np.nan for c in reports[0].classifiers]
    ax.bar(x + (len(reports) / 2) * width, poster, width, label="poster (83 images)", color="#bbbbbb")
    ax.axhline(0.5, color="black", lw=0.8, ls=":")
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.set_title(f"n = {reports[0].classifiers[0].n}; colour-count is the poster's fixed rule")
    ax.legend(loc="lower right", fontsize=8)
    return ax.figure


def per_source_chart(report: Any) -> Any:
    """Accuracy per source (rows) and classifier (columns) as a heat map."""
    sources = report.classifiers[0].per_source
    names = [c.name for c in report.classifiers]
    grid = np.array([[c.per_source[i].accuracy for c in report.classifiers] for i in range(len(sources))])
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 3, 0.38 * len(sources) + 1.5), layout="constrained")
    ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(sources)), [f"{s.source} ({s.label}, {s.n})" for s in sources])
    ax.set_title(f"accuracy per source, {report.classifiers[0].protocol}")
    return fig


def size_spread_plot(spread: Any, *, ax: Any = None) -> Any:
    """Accuracy over random draws of each size (box per classifier and size), the poster's figure as a cross."""
    from imgclass.evaluation import POSTER_FIGURES

    ax = _axes(ax, (9, 4))
    n_sizes = len(spread.sizes)
    width = 0.8 / n_sizes
    cmap = plt.get_cmap("Blues")
    for j, size in enumerate(spread.sizes):
        positions = np.arange(len(spread.names)) + (j - (n_sizes - 1) / 2) * width
        box = ax.boxplot(
            [spread.accuracy[i, j] for i in range(len(spread.names))],
            positions=positions,
            widths=width * 0.9,
            patch_artist=True,
            showfliers=False,
        )
        for patch in box["boxes"]:
            patch.set_facecolor(cmap(0.35 + 0.5 * j / max(n_sizes - 1, 1)))
        box["boxes"][0].set_label(f"n = {size}")
    for i, name in enumerate(spread.names):
        if name in POSTER_FIGURES:
            ax.plot(i, POSTER_FIGURES[name], marker="x", color="black", ms=10, mew=2, ls="none")
    ax.plot([], [], marker="x", color="black", ls="none", label="poster")
    ax.set_xticks(range(len(spread.names)), spread.names)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.3, 1.02)
    ax.set_title(f"{spread.accuracy.shape[2]} random draws per size")
    ax.legend(fontsize=8, loc="lower right")
    return ax.figure


def thumbnail_grid(images: Any, titles: Any, *, columns: int = 5, cell: float = 2.2, fontsize: float = 8) -> Any:
    """BGR thumbnails, ``cell`` inches wide, with a title above each (the live TCP demo's verdicts)."""
    images = list(images)
    titles = list(titles)
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(cell * columns, (cell + 0.4) * rows), layout="constrained", squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles, strict=False):
        ax.imshow(_rgb(image))
        ax.set_title(title, fontsize=fontsize)
    return fig


def show_image(ax: Any, image: Any, title: str = "") -> Any:
    """Draw one BGR image on ``ax`` without axes."""
    ax.imshow(_rgb(image))
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return ax
