"""Matplotlib figures for the notebooks, the README and ``imgclass reproduce --plot``."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None  # keep notebooks' backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

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
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(f"Real vs animated: n = {report.classifiers[0].n if report.classifiers else 0}")
    ax.legend(loc="lower right", fontsize=8)
    return ax.figure
