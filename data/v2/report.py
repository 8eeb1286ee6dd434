#!/usr/bin/env python3
"""Markdown tables of a v2 manifest: images per domain and source, greyscale shares, formats, licences.

python data/v2/report.py [data/v2/manifest.csv]
"""

from __future__ import annotations

import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sources import DOMAINS  # noqa: E402


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def domain_table(rows: list[dict[str, str]]) -> str:
    lines = [
        "| class | domain | images | greyscale | derived views | distinct groups | sources |",
        "|---|---|---|---|---|---|---|",
    ]
    for domain, label in DOMAINS.items():
        mine = [r for r in rows if r["domain"] == domain]
        sources = Counter(r["source"] for r in mine)
        top = ", ".join(f"{s} {n}" for s, n in sources.most_common())
        lines.append(
            f"| {label} | `{domain}` | {len(mine)} | {sum(r['greyscale'] == '1' for r in mine)} | "
            f"{sum(bool(r['derived']) for r in mine)} | {len({r['group'] for r in mine})} | {top} |"
        )
    return "\n".join(lines)


def source_table(rows: list[dict[str, str]]) -> str:
    by: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by[r["source"]].append(r)
    lines = ["| source | class | images (originals) | packages (version) | licences |", "|---|---|---|---|---|"]
    for source, mine in sorted(by.items(), key=lambda kv: (kv[1][0]["label"] != "real", kv[0])):
        originals = sum(not r["derived"] for r in mine)
        packages = sorted({f"{r['package']} {r['version']}" for r in mine})
        licences = Counter(r["licence"] for r in mine if not r["derived"])
        lic = ", ".join(f"{k} {v}" for k, v in licences.most_common())
        lines.append(f"| `{source}` | {mine[0]['label']} | {len(mine)} ({originals}) | {'; '.join(packages)} | {lic} |")
    return "\n".join(lines)


def summary(rows: list[dict[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for label in ("real", "animated"):
        mine = [r for r in rows if r["label"] == label]
        grey = sum(r["greyscale"] == "1" for r in mine) / max(1, len(mine))
        fmts = Counter(r["format"] for r in mine)
        out[label] = f"{len(mine)} images, {grey:.1%} greyscale; " + ", ".join(
            f"{k} {v / len(mine):.0%}" for k, v in sorted(fmts.items())
        )
    real_groups = {r["group"] for r in rows if r["label"] == "real"}
    out["distinct_real_groups"] = str(len(real_groups))
    for domain in ("people", "indoor_objects"):
        out[f"distinct_{domain}"] = str(len({r["group"] for r in rows if r["domain"] == domain}))
    return out


def cue_table(rows: list[dict[str, str]], root: Path) -> str:
    import numpy as np
    from PIL import Image

    lines = ["| class | > 20% near-white pixels | median file size | median pixels |", "|---|---|---|---|"]
    for label in ("real", "animated"):
        white, sizes, pixels = [], [], []
        for r in rows:
            if r["label"] != label:
                continue
            with Image.open(root / r["path"]) as image:
                image.draft("RGB", (256, 256))
                small = np.asarray(image.convert("RGB").resize((128, 128)))
            white.append(float((small.min(axis=2) >= 250).mean()) > 0.2)
            sizes.append((root / r["path"]).stat().st_size)
            pixels.append(int(r["width"]) * int(r["height"]))
        lines.append(
            f"| {label} | {np.mean(white):.1%} | {np.median(sizes) / 1e3:.0f} kB | {np.median(pixels) / 1e3:.0f} k |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else HERE / "manifest.csv"
    rows = read(path)
    print(domain_table(rows))
    print()
    print(source_table(rows))
    print()
    for key, value in summary(rows).items():
        print(f"- {key}: {value}")
    if len(argv) > 2:
        print()
        print(cue_table(rows, Path(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
