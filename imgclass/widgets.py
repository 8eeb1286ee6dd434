"""Thin ipywidgets factories over the package's functions, for the notebooks.

Each factory returns an :class:`ipywidgets.interactive`: its controls (also at ``.controls``, by
name), a one-line HTML readout (CSS class ``imgclass-readout``, also at ``.readout``) and an output
area with the figure. Setting a
control's ``.value`` reruns the function with no browser, and ``.result`` holds what it returned (a
frozen result from :mod:`imgclass.exploration`), so a notebook cell can move a slider and assert on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from ipywidgets import HTML, Dropdown, FloatSlider, IntSlider, Layout, interactive

from imgclass import plots
from imgclass.data import Dataset
from imgclass.decode import BGRImage
from imgclass.exploration.blur_sweep import BlurSettings, bilateral_scores
from imgclass.exploration.colour_preview import ShareCurves, top_colour_preview
from imgclass.exploration.range_fitting import STRATEGIES, RangeFit, fit_ranges
from imgclass.exploration.thresholds import Reading, best_threshold, class_direction, reading

R = TypeVar("R")

READOUT_CLASS = "imgclass-readout"
_WIDE = {"style": {"description_width": "110px"}, "layout": Layout(width="480px")}


def _finish(fig: Any) -> None:
    # The inline backend shows and closes open figures after the callback; elsewhere nothing would.
    if "inline" not in matplotlib.get_backend():
        plt.close(fig)


def live_panel(update: Callable[..., R], describe: Callable[[R], str], **controls: Any) -> interactive:
    """``interactive(update, **controls)`` with an HTML readout of ``describe(result)`` above the output."""
    readout = HTML()
    readout.add_class(READOUT_CLASS)

    def run(**values: Any) -> R:
        result = update(**values)
        readout.value = describe(result)
        return result

    # interactive inspects the signature; give it the controls' names.
    run.__signature__ = _signature(controls)  # type: ignore[attr-defined]
    panel = interactive(run, **controls)
    panel.children = (*panel.children[:-1], readout, panel.children[-1])
    panel.readout = readout
    panel.controls = dict(controls)
    return panel


def _signature(controls: dict[str, Any]) -> Any:
    import inspect

    return inspect.Signature([inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in controls])


def range_fitting_widget(
    lengths: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    n_ranges: int = 8,
    strategy: str = "quantile",
    max_ranges: int = 32,
    folds: int = 5,
    seed: int = 0,
) -> interactive:
    """Number of ranges and strategy -> the ranges over the histogram and their 5-fold accuracy."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    x = np.asarray(lengths, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)

    def update(n_ranges: int, strategy: str) -> RangeFit:
        fit = fit_ranges(x, y, n_ranges, strategy, folds=folds, seed=seed)
        fig = plots.ranges_over_histogram(x, y, fit.edges, title=f"{len(fit.edges) + 1} {strategy} ranges")
        _finish(fig)
        return fit

    return live_panel(
        update,
        RangeFit.describe,
        n_ranges=IntSlider(
            value=n_ranges, min=2, max=max_ranges, description="ranges", continuous_update=False, **_WIDE
        ),
        strategy=Dropdown(options=STRATEGIES, value=strategy, description="strategy", **_WIDE),
    )


def bilateral_widget(
    dataset: Dataset, *, settings: BlurSettings | None = None, threshold: float | None = None
) -> interactive:
    """Filter settings and threshold -> live accuracy, the class distributions and a confusion matrix.

    The features of each new setting are computed once and cached; a threshold change costs nothing.
    ``settings=None`` starts at the classifier's defaults, ``threshold=None`` at the best cut for them.
    """
    settings = settings or BlurSettings()
    labels = dataset.labels
    first = bilateral_scores(dataset, settings)
    if threshold is None:
        threshold = best_threshold(first, labels, class_direction(first, labels)).threshold
    top = min(1.0, math.ceil(float(first.max()) * 150) / 100)  # 1.5x the largest distance, rounded up

    def update(diameter: int, sigma_color: float, sigma_space: float, threshold: float) -> Reading:
        scores = bilateral_scores(dataset, BlurSettings(diameter, sigma_color, sigma_space))
        result = reading(scores, labels, threshold)
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained", width_ratios=(2, 1))
        plots.score_histogram(scores, labels, threshold=threshold, xlabel="histogram distance", ax=ax0)
        plots.confusion_matrix_plot(result.chosen, ax=ax1)
        _finish(fig)
        return result

    return live_panel(
        update,
        lambda r: r.describe("distance"),
        # OpenCV uses odd diameters of at least 3 (d=1 acts as 3, d=4 as 5).
        diameter=IntSlider(
            value=settings.diameter, min=3, max=15, step=2, description="diameter", continuous_update=False, **_WIDE
        ),
        sigma_color=FloatSlider(
            value=settings.sigma_color,
            min=1,
            max=300,
            step=1,
            description="sigmaColor",
            continuous_update=False,
            **_WIDE,
        ),
        sigma_space=FloatSlider(
            value=settings.sigma_space,
            min=1,
            max=300,
            step=1,
            description="sigmaSpace",
            continuous_update=False,
            **_WIDE,
        ),
        threshold=FloatSlider(
            value=round(threshold, 3),
            min=0.0,
            max=top,
            step=0.001,
            readout_format=".3f",
            description="threshold",
            continuous_update=False,
            **_WIDE,
        ),
    )


def colour_count_widget(
    curves: ShareCurves,
    examples: Sequence[tuple[str, BGRImage]],
    *,
    n_colours: int = 512,
    threshold: float = 0.3,
) -> interactive:
    """Number of colours and threshold -> the preview of each example, the shares per class, accuracy.

    Animated is a share above the threshold, as in the poster's rule: the ``colour-count`` classifier's
    own rule decides (:meth:`~imgclass.exploration.colour_preview.ShareCurves.predict`).
    """
    labels = curves.labels

    def update(n_colours: int, threshold: float) -> Reading:
        shares = curves.shares(n_colours)
        result = reading(shares, labels, threshold, direction=1, predicted=curves.predict(n_colours, threshold))
        k = len(examples)
        fig = plt.figure(figsize=(3 * max(k, 3), 6), layout="constrained")
        halves = fig.subfigures(2, 1, squeeze=False)
        top, bottom = halves[0, 0], halves[1, 0]
        for ax, (title, image) in zip(top.subplots(1, k, squeeze=False)[0], examples, strict=True):
            preview, share = top_colour_preview(image, n_colours, size=curves.size)
            plots.show_image(ax, preview, f"{title}: {share:.0%} kept")
        ax0, ax1 = bottom.subplots(1, 2, width_ratios=(2, 1))
        plots.score_histogram(
            shares, labels, threshold=threshold, xlabel=f"share of the top {n_colours} colours", ax=ax0
        )
        plots.confusion_matrix_plot(result.chosen, ax=ax1)
        _finish(fig)
        return result

    return live_panel(
        update,
        lambda r: r.describe("share"),
        n_colours=IntSlider(
            value=n_colours, min=1, max=curves.max_colours, description="colours (N)", continuous_update=False, **_WIDE
        ),
        threshold=FloatSlider(
            value=threshold, min=0.0, max=1.0, step=0.01, description="threshold", continuous_update=False, **_WIDE
        ),
    )
