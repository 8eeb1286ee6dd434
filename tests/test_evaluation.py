import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.model_selection import StratifiedKFold

from imgclass.data import Dataset, load_dataset
from imgclass.evaluation import (
    POSTER_FIGURES,
    TABLE_WIDTH,
    ClassifierScore,
    DomainScore,
    Report,
    RobustnessScore,
    SourceScore,
    check_cv,
    cv_splits,
    evaluate,
    per_source_scores,
    protocol_name,
    reproduce,
    wilson_interval,
)
from imgclass.robustness import TRANSFORMS


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (77, 83), (250, 480)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ci = binomtest(k, n).proportion_ci(method="wilson")
    assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_wilson_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        wilson_interval(1, 0)
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_per_source_rows() -> None:
    y = np.array([0, 0, 1, 1, 1])
    pred = np.array([0, 1, 1, 1, 0])
    rows = per_source_scores(y, pred, np.array(["a", "a", "b", "b", "c"]))
    assert [(r.source, r.label, r.n, r.accuracy) for r in rows] == [
        ("a", "real", 2, 0.5),
        ("b", "animated", 2, 1.0),
        ("c", "animated", 1, 0.0),
    ]


def test_reproduce_scores_every_poster_row(tiny_dir: Path) -> None:
    report = reproduce(load_dataset(tiny_dir), folds=3)
    assert [c.name for c in report.classifiers] == list(POSTER_FIGURES)
    for row in report.classifiers:
        assert row.n == 24 and 0 <= row.ci95[0] <= row.accuracy <= row.ci95[1] <= 1
        assert row.poster == POSTER_FIGURES[row.name] and row.ms_per_image > 0
    protocols = {c.name: c.protocol for c in report.classifiers}
    assert protocols == {
        "byte-length": "3-fold",
        "byte-onehot": "3-fold",
        "bilateral": "3-fold",
        "colour-count": "fixed rule",
    }
    # The synthetic drawings are far smaller files than the noisy photos: held out, size alone works.
    assert report.classifiers[0].accuracy == 1.0
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data["classifiers"][0]) >= {"name", "accuracy", "balanced_accuracy", "f1", "ci95", "n", "ms_per_image"}
    assert "poster" in report.to_table() and "byte-onehot" in report.to_table()


def test_group_cv_holds_out_whole_sources(tiny_dir: Path) -> None:
    report = reproduce(load_dataset(tiny_dir), ["byte-length"], cv="group")
    row = report.classifiers[0]
    assert row.protocol == "by-source" and {s.source for s in row.per_source} == {
        "photo_a",
        "photo_b",
        "drawn_a",
        "drawn_b",
    }
    with pytest.raises(ValueError, match="cv"):
        reproduce(load_dataset(tiny_dir), ["byte-length"], cv="random")  # type: ignore[arg-type]


def test_evaluate_on_a_separate_set_reports_sources(tiny_dir: Path) -> None:
    data = load_dataset(tiny_dir)
    train = load_dataset(tiny_dir, sources=["photo_a", "drawn_a"])
    test = load_dataset(tiny_dir, sources=["photo_b", "drawn_b"])
    assert len(train) + len(test) == len(data)
    report = evaluate(train, test, ["byte-length", "colour-count"])
    assert [r.protocol for r in report.classifiers] == ["held-out", "held-out"]
    assert {s.source for s in report.classifiers[0].per_source} == {"photo_b", "drawn_b"}
    assert report.train == str(tiny_dir) and "drawn_b" in report.per_source_table()


def _with(dataset: Dataset, *, domains: Sequence[str] | None = None, groups: Sequence[str] | None = None) -> Dataset:
    """``dataset`` with its records' domains and/or content groups replaced."""
    records = tuple(
        replace(
            r,
            domain=r.domain if domains is None else domains[i],
            group=r.group if groups is None else groups[i],
        )
        for i, r in enumerate(dataset.records)
    )
    return Dataset(dataset.root, records)


def test_alias_and_unknown_protocols() -> None:
    assert [check_cv(c) for c in ("stratified", "source", "group", "domain")] == [
        "stratified",
        "source",
        "source",
        "domain",
    ]
    assert protocol_name("group", 5) == "by-source" and protocol_name("domain", 5) == "by-domain"
    with pytest.raises(ValueError, match="stratified, source, domain"):
        check_cv("random")


def test_leave_one_domain_out_holds_out_whole_domains(tiny_dir: Path) -> None:
    base = load_dataset(tiny_dir)
    # Two domains cutting across the four sources: "a" sources and "b" sources of both classes.
    domains = [s.split("_")[1] for s in base.sources.tolist()]
    data = _with(base, domains=domains)
    splits = cv_splits(data, cv="domain")
    assert len(splits) == 2
    for train, test in splits:
        assert len(set(data.domains[test].tolist())) == 1
        assert not set(data.domains[train].tolist()) & set(data.domains[test].tolist())
    report = reproduce(data, ["byte-length"], cv="domain", folds=3)
    row = report.classifiers[0]
    assert row.protocol == "by-domain" and [(d.domain, d.n) for d in row.per_domain] == [("a", 12), ("b", 12)]
    assert {r.protocol for r in report.cv} == {"3-fold", "by-source", "by-domain"}
    assert not report.domains_are_sources() and "domain" in report.per_domain_table()
    assert report.to_dict()["classifiers"][0]["per_domain"][0]["domain"] == "a"
    with pytest.raises(ValueError, match="two domains"):
        cv_splits(_with(base, domains=["one"] * len(base)), cv="domain")


def test_domains_equal_to_sources_add_no_repeated_rows(tiny_dir: Path) -> None:
    report = reproduce(load_dataset(tiny_dir), ["byte-length"], folds=3)
    assert [r.protocol for r in report.cv] == ["3-fold", "by-source"]
    assert report.domains_are_sources()
    assert [d.domain for d in report.classifiers[0].per_domain] == [s.source for s in report.classifiers[0].per_source]


@pytest.mark.parametrize("cv", ["stratified", "source", "domain"])
def test_content_groups_never_straddle_a_split(tiny_dir: Path, cv: str) -> None:
    base = load_dataset(tiny_dir)
    n = len(base)
    # The first two images of each source share a group with their twins in the other source of the class.
    groups = [f"g{i // 12}-{i % 6}" if i % 6 < 2 else f"solo{i}" for i in range(n)]
    domains = [s.split("_")[1] for s in base.sources.tolist()]
    data = _with(base, groups=groups, domains=domains)
    assert any(len(set(data.sources[data.groups == g].tolist())) > 1 for g in set(groups))
    splits = cv_splits(data, cv=cv, folds=3)
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested.tolist()) == list(range(n))  # every image is scored once
    for train, test in splits:
        assert not set(data.groups[train].tolist()) & set(data.groups[test].tolist())


def test_trivial_groups_keep_the_plain_stratified_folds(tiny_dir: Path) -> None:
    data = load_dataset(tiny_dir)
    ours = cv_splits(data, cv="stratified", folds=3, seed=4)
    theirs = StratifiedKFold(n_splits=3, shuffle=True, random_state=4).split(np.zeros(len(data)), data.labels)
    for (a_train, a_test), (b_train, b_test) in zip(ours, theirs, strict=True):
        assert a_train.tolist() == b_train.tolist() and a_test.tolist() == b_test.tolist()


def test_robustness_change_is_negative_for_a_drop() -> None:
    row = RobustnessScore("byte-stream", "png", "5-fold", 0.594, 0.742, 0.594 - 0.742, 0.6, 100)
    report = Report("reproduce", "x", (), robustness=(row,))
    table = report.robustness_table()
    assert "0.594 (-14.8)" in table and "a drop is negative" in table
    assert report.to_dict()["robustness"][0]["change"] == pytest.approx(-0.148)


def _row(name: str, sources: Sequence[str]) -> ClassifierScore:
    # The last source is the worst, so the cv table names it.
    per_source = tuple(SourceScore(s, "real", 40, 0.975 - 0.1 * (s == sources[-1]), (0.9, 1.0)) for s in sources)
    per_domain = tuple(DomainScore(s, "real", 40, 0.975, (0.9, 1.0)) for s in sources)
    return ClassifierScore(name, "by-source", 0.9, 0.9, 0.9, (0.8, 0.95), 474, 1.8, None, per_source, per_domain)


def test_tables_fit_100_columns_and_long_names_stay_apart() -> None:
    sources = ["endless_sky", "wallpaper_photos", "wesnoth", "a_source_with_a_name_far_too_long_for_any_table_at_all"]
    names = ["combined", "combined:my-model-trained-on-holiday-photos-2026.json", "byte-stream:m.json", "bilateral"]
    rows = tuple(_row(n, sources) for n in names)
    robust = tuple(RobustnessScore(n, t, "by-source", 0.5, 0.9, -0.4, 0.5, 474) for n in names for t in TRANSFORMS)
    report = Report("evaluate", "x", rows, cv=rows, robustness=robust)
    for table in (
        report.to_table(),
        report.cv_table(),
        report.per_source_table(),
        report.per_domain_table(),
        report.cv_per_source_table(),
        report.robustness_table(),
    ):
        assert table
        assert max(len(line) for line in table.splitlines()) <= TABLE_WIDTH, table
        for name in names:
            # Every name is followed by a space or the end of its line: never by the next column's text.
            for line in table.splitlines():
                at = line.find(name)
                if at >= 0 and line[at:].split(" ")[0] == name:
                    assert at + len(name) == len(line) or line[at + len(name)] == " "
    long_name = names[1]
    assert any(line == long_name for line in report.to_table().splitlines())  # a line of its own
    # Sources are rows: each source starts a line of the per-source tables.
    for table in (report.per_source_table(), report.cv_per_source_table()):
        starts = [line.split(" ")[0] for line in table.splitlines()]
        assert all(s in starts for s in sources)
    # Long column titles are keyed and spelt out in a legend; short ones are shown as they are.
    assert f"[2] {long_name}/by-source" in report.cv_per_source_table()
    assert "bilateral" in report.per_source_table().splitlines()[0]
    # Every robustness cell of a row is on the row's line: five transforms side by side.
    robustness = report.robustness_table().splitlines()
    assert (
        all(t in robustness[1] for t in TRANSFORMS) and sum(line.startswith("classifier") for line in robustness) == 1
    )
