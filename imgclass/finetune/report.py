"""The study's markdown page: every variant per domain, the nested choices, and the stress rows per domain."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imgclass.exploration.domain_shift import domain_score
from imgclass.finetune.study import StudyResult


def _score(y: np.ndarray, p: np.ndarray) -> float:
    ok = np.isfinite(p)
    return domain_score(y[ok], p[ok]) if ok.any() else float("nan")


def _slices(result: StudyResult) -> list[tuple[str, np.ndarray]]:
    """``(name, mask)``: every domain, then the ``faces`` slice where the manifest has one."""
    study = result.study
    out = [(d, study.domains == d) for d in sorted(set(study.domains.tolist()))]
    if study.faces is not None and study.faces.any():
        out.append(("*faces* (slice)", study.faces))
    return out


def variant_table(result: StudyResult, variants: Sequence[str]) -> list[str]:
    """Every variant's clean score overall, per domain and on the faces slice, with the worst domain."""
    study, y = result.study, result.study.labels
    probs = result.probabilities
    lines = [
        "| domain | n | real | animated | " + " | ".join(f"`{v}`" for v in variants) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(variants),
        f"| **overall** | {len(y)} | {int((y == 0).sum())} | {int((y == 1).sum())} | "
        + " | ".join(f"**{_score(y, probs[v]['clean']):.3f}**" for v in variants)
        + " |",
    ]
    domains = sorted(set(study.domains.tolist()))
    for name, m in _slices(result):
        cells = " | ".join(f"{_score(y[m], probs[v]['clean'][m]):.3f}" for v in variants)
        lines.append(f"| {name} | {m.sum()} | {int((y[m] == 0).sum())} | {int((y[m] == 1).sum())} | {cells} |")
    worst = [
        min(_score(y[study.domains == d], probs[v]["clean"][study.domains == d]) for d in domains) for v in variants
    ]
    lines.append("| *worst domain* | | | | " + " | ".join(f"*{w:.3f}*" for w in worst) + " |")
    below = [
        sum(_score(y[study.domains == d], probs[v]["clean"][study.domains == d]) < 0.85 for d in domains)
        for v in variants
    ]
    lines.append("| *domains under 0.85* | | | | " + " | ".join(str(b) for b in below) + " |")
    return lines


def choices_table(result: StudyResult) -> list[str]:
    """What the nested rule chose in each fold."""
    mixes = [v for v in result.choices if v.startswith("mix:")]
    header = (
        "| held-out domain | hand weight (`combined`) | inner score | "
        + " | ".join(f"`{m}`: w, t (inner score)" for m in mixes)
        + " |"
    )
    lines = [header, "|---|---:|---:|" + "---:|" * len(mixes)]
    for domain, chosen in result.choices["combined"].items():
        cells = []
        for m in mixes:
            c = result.choices[m][domain]
            cells.append(f"{c['network_weight']:.1f}, {c['threshold']:+.1f} ({c['inner score']:.3f})")
        lines.append(
            f"| {domain} | {chosen['hand_weight']:g} | {chosen['inner score']:.3f} | " + " | ".join(cells) + " |"
        )
    return lines


def stress_tables(result: StudyResult, variants: Sequence[str], per_domain: Sequence[str]) -> list[str]:
    """Each transform's change from clean on the stress subset, overall and (for ``per_domain``) per domain."""
    study, y = result.study, result.study.labels
    transforms = [t for t in next(iter(result.probabilities.values())) if t != "clean"]
    if not transforms:
        return []
    sub = result.stress_rows
    lines = [
        f"Balanced accuracy on the stress subset ({int(sub.sum())} test images: at most the same seeded "
        f"{int(max(np.bincount(np.unique(study.domains[sub], return_inverse=True)[1])))} images of each domain), "
        "pooled over the folds; in brackets the change from the same images clean, in points.",
        "",
        "| variant | clean | " + " | ".join(transforms) + " |",
        "|---|---:|" + "---:|" * len(transforms),
    ]
    for v in variants:
        p = result.probabilities[v]
        base = _score(y[sub], p["clean"][sub])
        cells = [
            f"{_score(y[sub], p[t][sub]):.3f} ({100 * (_score(y[sub], p[t][sub]) - base):+.1f})" for t in transforms
        ]
        lines.append(f"| `{v}` | {base:.3f} | " + " | ".join(cells) + " |")
    for v in per_domain:
        p = result.probabilities[v]
        lines += [
            "",
            f"`{v}` per domain (a domain alone, as above): clean score on the subset, then the change in points.",
            "",
            "| domain | n | clean | " + " | ".join(transforms) + " |",
            "|---|---:|---:|" + "---:|" * len(transforms),
        ]
        for name, m in _slices(result):
            m = m & sub
            base = _score(y[m], p["clean"][m])
            cells = [f"{100 * (_score(y[m], p[t][m]) - base):+.1f}" for t in transforms]
            lines.append(f"| {name} | {m.sum()} | {base:.3f} | " + " | ".join(cells) + " |")
    return lines


__all__ = ["choices_table", "stress_tables", "variant_table"]
