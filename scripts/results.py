#!/usr/bin/env python3
"""The figures of the README and the documentation: committed results files, and the tables drawn from them.

    python scripts/results.py list                       # every results file and the command that makes it
    python scripts/results.py make NAME [--v2 V2_DIR]    # run NAME's command, write docs/results/NAME.json
    python scripts/results.py tables                     # redraw every generated table in README.md and docs/
    python scripts/results.py check                      # exit 1 naming each page whose figures disagree

Every accuracy or speed figure a reader sees comes from one file in ``docs/results/``, made by one command
(:data:`RESULTS`). A page shows a file's figures in a generated table between two comments::

    <!-- results-table NAME -->
    | ... |
    <!-- end results-table -->

where ``NAME`` is a renderer in :data:`TABLES`. After changing a classifier: ``make`` the results files it
moves, run ``tables``, commit both; ``tests/test_results.py`` runs ``check`` and names every page that
disagrees. A figure quoted in a page's prose must also be in a results file (``check`` lists those that are
not), so prose goes stale loudly too.

Each file records the command, the date and the versions it was made with (Python, imgclass, OpenCV,
numpy, scikit-learn). Some figures depend on those versions (``byte-stream`` reads the bytes OpenCV's PNG
encoder writes), so ``make`` also writes them to ``docs/results/constraints.txt``:
``pip install -e ".[test]" -c docs/results/constraints.txt`` gives the environment the figures were made in.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import platform
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "docs" / "results"
CONSTRAINTS = RESULTS_DIR / "constraints.txt"
#: The distributions whose versions a figure may depend on, pinned in ``constraints.txt``.
PINNED = ("opencv-python-headless", "numpy", "scikit-learn", "scipy", "skops")
#: Pages whose figures are checked: the README and every Markdown page of the site except those that are
#: themselves written whole by a command (``docs/domain-shift/``, by ``scripts/evaluate_v2.py``) or quote
#: other people's figures (the poster, the changelog).
UNCHECKED_PAGES = ("docs/domain-shift/", "docs/poster.md", "docs/changelog.md", "docs/_build/", "docs/api/")
MODELS = ("fast", "combined", "byte-stream")
POSTER_CLASSIFIERS = ("byte-length", "byte-onehot", "bilateral", "colour-count")
EVERY_CLASSIFIER = (*POSTER_CLASSIFIERS, *MODELS)


@dataclass(frozen=True)
class ResultsFile:
    """A committed results file and the one command that makes it."""

    name: str
    command: tuple[str, ...]
    what: str
    #: The command writes the JSON to ``{out}`` itself; otherwise it prints it.
    writes: bool = False
    #: What the command needs beyond the test extras (shown by ``list``).
    needs: str = ""

    @property
    def path(self) -> Path:
        return RESULTS_DIR / f"{self.name}.json"

    def argv(self, out: Path, v2: str | None) -> list[str]:
        if "{v2}" in self.command and not v2:
            raise SystemExit(f"{self.name} needs --v2 V2_DIR, a built reference set v2 (data/v2/README.md)")
        python = {"{python}": sys.executable, "{out}": str(out), "{v2}": v2 or ""}
        return [python.get(part, part) for part in self.command]


RESULTS: dict[str, ResultsFile] = {
    f.name: f
    for f in (
        ResultsFile(
            "poster",
            ("imgclass", "reproduce", "--json", "--no-progress"),
            "the poster's four classifiers on the bundled set, 5-fold and leave-one-source-out",
        ),
        ResultsFile(
            "reference-refit",
            ("imgclass", "reproduce", "--cv", "source", "--robustness", "--classifier", *MODELS,
             "--json", "--no-progress"),
            "fast, combined, byte-stream refitted per fold on the bundled set, with robustness",
        ),
        ResultsFile(
            "reference-shipped",
            ("imgclass", "evaluate", "data/reference", "--model", *(f"imgclass/models/{m}.json" for m in MODELS),
             "--cv", "none", "--no-robustness", "--json", "--no-progress"),
            "the shipped models, as shipped, scored on the bundled set",
        ),
        ResultsFile(
            "v2-refit",
            ("imgclass", "reproduce", "--data", "{v2}", "--cv", "domain", "--classifier", *EVERY_CLASSIFIER,
             "--json", "--no-progress"),
            "every classifier refitted per fold on reference set v2: leave one domain out, one source out, 5-fold",
            needs="a built reference set v2 (--v2); about an hour on 2 cores",
        ),
        ResultsFile(
            "classifiers",
            ("{python}", "benchmarks/classifiers.py", "--json", "{out}"),
            "time per image of every classifier against decoding, one core",
            writes=True,
            needs="a quiet machine: ratios are taken within the run, times are CPU time",
        ),
        ResultsFile(
            "transfer",
            ("{python}", "benchmarks/transfer.py", "--quick", "--out", "{out}"),
            "the TCP transfer against a raw socket and ImageZMQ",
            writes=True,
            needs='the bench extra (pip install -e ".[bench]")',
        ),
        ResultsFile(
            "bulk",
            ("{python}", "benchmarks/bulk.py", "--quick", "--out", "{out}"),
            "bulk classification: one worker, a pool, Dask; the million-path run",
            writes=True,
            needs='the dask and parquet extras (pip install -e ".[dask,parquet]")',
        ),
    )
}
#: Results files written by other commands, read by the tables as they are.
EXTERNAL: dict[str, tuple[Path, str]] = {
    "v2-lodo": (
        REPO / "docs" / "domain-shift" / "v2.json",
        "python scripts/evaluate_v2.py --data V2_DIR --augment 1 --robustness --out docs/domain-shift/v2.md",
    ),
}


def made_with() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("imgclass-rva", *PINNED):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "absent"
    return versions


def portable(value: Any) -> Any:
    """The result with the checkout's absolute path removed, so a file does not say where it was made."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, str) and value.startswith(str(REPO)):
        return str(Path(value).relative_to(REPO)) or "."
    return value


def make(name: str, v2: str | None, earlier: Path | None = None) -> Path:
    spec = RESULTS[name]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out.json"
        argv = spec.argv(out, v2)
        shown = " ".join(shlex.quote(a if a != sys.executable else "python") for a in argv).replace(str(out), "OUT")
        print(f"{name}: {shown}", file=sys.stderr)
        if earlier is not None:
            # The output of an earlier run of exactly this command (e.g. one left running in the background).
            result = json.loads(earlier.read_text())
        else:
            run = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, check=False)  # noqa: S603 (our own argv)
            if run.returncode not in (0, 1):  # 1: some files were named and skipped; the figures still stand
                raise SystemExit(f"{name}: the command exited with {run.returncode}")
            result = json.loads(out.read_text() if spec.writes else run.stdout)
    document = {
        "name": name,
        "command": shown.replace(v2 or "\0", "V2_DIR"),
        "made": datetime.date.today().isoformat(),
        "made_with": made_with(),
        "result": portable(result),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    spec.path.write_text(json.dumps(document, indent=1) + "\n")
    write_constraints(document["made_with"])
    return spec.path


def write_constraints(versions: dict[str, str]) -> None:
    lines = [
        "# The versions docs/results/*.json were made with (python scripts/results.py make writes this file).",
        "# pip install -e '.[test]' -c docs/results/constraints.txt reproduces their figures to the digit.",
        *(f"{dist}=={versions[dist]}" for dist in PINNED if versions.get(dist, "absent") != "absent"),
    ]
    CONSTRAINTS.write_text("\n".join(lines) + "\n")


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line and not line.startswith("#"):
            dist, _, version = line.partition("==")
            pins[dist.strip()] = version.strip()
    return pins


def load(name: str) -> dict[str, Any]:
    """The result held by results file ``name`` (a :data:`RESULTS` name or an :data:`EXTERNAL` one)."""
    if name in EXTERNAL:
        return dict(json.loads(EXTERNAL[name][0].read_text()))
    return dict(json.loads(RESULTS[name].path.read_text())["result"])


# ---- tables --------------------------------------------------------------------------------------------


def protocol_rows(report: dict[str, Any], protocol: str) -> dict[str, dict[str, Any]]:
    """A report's rows under ``protocol`` by classifier name (a fixed rule's one row stands for every protocol)."""
    rows = [*report["classifiers"], *report["cv"]]
    return {r["name"]: r for r in rows if r["protocol"] in (protocol, "fixed rule")}


def _model(name: str) -> str:
    """``fast:fast.json`` (how a report names a model file) -> ``fast``."""
    return name.split(":", 1)[0]


def _worst(row: dict[str, Any], key: str = "per_source") -> str:
    worst = min(row[key], key=lambda s: s["accuracy"])
    return f"{worst.get('source') or worst.get('domain')} {worst['accuracy']:.3f}"


def _benchmark(name: str) -> Any:
    """A benchmark script as a module, for its own table renderer (one renderer per table, not two)."""
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))  # the scripts import their sibling _requires
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", REPO / "benchmarks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_poster() -> str:
    report = load("poster")
    lines = [
        "| classifier | protocol | accuracy | balanced acc. | F1 | 95% CI (Wilson) | n | poster |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in report["classifiers"]:
        lo, hi = r["ci95"]
        poster = "-" if r["poster"] is None else f"{r['poster']:.2f}"
        lines.append(
            f"| `{r['name']}` | {r['protocol']} | {r['accuracy']:.3f} | {r['balanced_accuracy']:.3f} | {r['f1']:.3f} "
            f"| [{lo:.2f}, {hi:.2f}] | {r['n']} | {poster} |"
        )
    return "\n".join(lines)


def table_poster_by_source() -> str:
    report = load("poster")
    rows = protocol_rows(report, "by-source")
    lines = ["| classifier | leave-one-source-out bal. acc. | worst source |", "|---|---:|---|"]
    for name in POSTER_CLASSIFIERS:
        r = rows[name]
        lines.append(f"| `{name}` ({r['protocol']}) | {r['balanced_accuracy']:.3f} | {_worst(r)} |")
    return "\n".join(lines)


def table_reference_models() -> str:
    """Shipped models as shipped beside the same classifiers refitted per fold, on the bundled set."""
    shipped = {_model(r["name"]): r for r in load("reference-shipped")["classifiers"]}
    refit = load("reference-refit")
    folds, loso = protocol_rows(refit, "5-fold"), protocol_rows(refit, "by-source")
    lines = [
        "| classifier | shipped model, as shipped | its worst source | refitted: 5-fold "
        "| refitted: leave one source out | its worst source |",
        "|---|---:|---|---:|---:|---|",
    ]  # fmt: skip
    for name in MODELS:
        s, f, o = shipped[name], folds[name], loso[name]
        lines.append(
            f"| `{name}` | {s['balanced_accuracy']:.3f} | {_worst(s)} | {f['balanced_accuracy']:.3f} "
            f"| {o['balanced_accuracy']:.3f} | {_worst(o)} |"
        )
    return "\n".join(lines)


def table_reference_robustness() -> str:
    refit = load("reference-refit")
    transforms = list(dict.fromkeys(r["transform"] for r in refit["robustness"]))
    lines = ["| classifier | clean | " + " | ".join(transforms) + " |", "|---|---:|" + "---:|" * len(transforms)]
    for name in MODELS:
        rows = {r["transform"]: r for r in refit["robustness"] if r["name"] == name}
        clean = rows[transforms[0]]["clean_balanced_accuracy"]
        cells = [f"{rows[t]['balanced_accuracy']:.3f} ({100 * rows[t]['change']:+.1f})" for t in transforms]
        lines.append(f"| `{name}` | {clean:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: Every classifier refitted on v2 as first recorded: a Markdown page transcribed from two runs of
#: ``imgclass reproduce --data V2_DIR --cv domain --per-source --json`` (the poster's four, then the three
#: learned models after their last change). ``make v2-refit`` writes the same figures from one command, and
#: the tables then read that file instead.
V2_EVERY_CLASSIFIER_PAGE = REPO / "docs" / "domain-shift" / "v2-every-classifier.md"
PAGE_PROTOCOLS = {"by-domain": "by-domain", "by-source": "by-source", "5-fold": "5-fold"}


def _page_rows(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """protocol -> classifier -> a report-shaped row (overall balanced accuracy, accuracy per domain)."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for section in re.split(r"^\*\*(?=[\w-]+\*\*)", text, flags=re.MULTILINE)[1:]:
        protocol = section.split("**", 1)[0]
        table = [line for line in section.splitlines() if line.startswith("|")]
        names = [cell.strip(" `") for cell in table[0].strip("|").split("|")][1:]
        protocol_rows = {n: {"name": n, "protocol": protocol, "per_domain": []} for n in names}
        for line in table[2:]:
            label, *cells = (cell.strip(" *") for cell in line.strip("|").split("|"))
            if label.startswith("overall"):
                for n, cell in zip(names, cells, strict=True):
                    protocol_rows[n]["balanced_accuracy"] = float(cell)
            elif match := re.fullmatch(r"(\w+) \((real|animated), (\d+)\)", label):
                for n, cell in zip(names, cells, strict=True):
                    domain = {"domain": match[1], "label": match[2], "n": int(match[3]), "accuracy": float(cell)}
                    protocol_rows[n]["per_domain"].append(domain)
        rows[PAGE_PROTOCOLS[protocol]] = protocol_rows
    return rows


def v2_refit(protocol: str) -> dict[str, dict[str, Any]]:
    """Every classifier refitted on v2 under ``protocol``: from ``v2-refit.json`` if made, else the first record."""
    if RESULTS["v2-refit"].path.exists():
        return protocol_rows(load("v2-refit"), protocol)
    return _page_rows(V2_EVERY_CLASSIFIER_PAGE.read_text())[protocol]


def table_classifiers() -> str:
    """The README's table: what each reads, its cost, its accuracy on the bundled set and on unseen v2 domains."""
    reads = {
        "byte-length": "file size", "byte-onehot": "file size", "bilateral": "pixels, full decode",
        "colour-count": "pixels, full decode", "byte-stream": "header and compressed stream",
        "fast": "pixels, reduced decode", "combined": "pixels, reduced decode, and a network",
    }  # fmt: skip
    speed = load("classifiers")["rows"]
    poster = protocol_rows(load("poster"), "by-source")
    shipped = {_model(r["name"]): r for r in load("reference-shipped")["classifiers"]}
    refit = protocol_rows(load("reference-refit"), "by-source")
    v2_shipped = load("v2-lodo")["clean"]
    v2_again = v2_refit("by-domain")
    lines = [
        "| classifier | reads | cost (x decode) | bundled set: shipped / refitted | v2, domain left out: shipped "
        "config / refitted |",
        "|---|---|---:|---:|---:|",
    ]  # fmt: skip
    for name in EVERY_CLASSIFIER:
        bundled = (
            f"{shipped[name]['balanced_accuracy']:.3f} / {refit[name]['balanced_accuracy']:.3f}"
            if name in MODELS
            else f"- / {poster[name]['balanced_accuracy']:.3f}"
        )
        config = f"{v2_shipped[name]['overall']:.3f}" if name in v2_shipped else "-"
        again = f"{v2_again[name]['balanced_accuracy']:.3f}"
        shown = f"**`{name}`**" if name == "combined" else f"`{name}`"
        lines.append(f"| {shown} | {reads[name]} | {speed[name]['x_decode']:.2f} | {bundled} | {config} / {again} |")
    return "\n".join(lines)


def table_v2_every_classifier() -> str:
    lines = ["| protocol | " + " | ".join(f"`{n}`" for n in EVERY_CLASSIFIER) + " |",
             "|---|" + "---:|" * len(EVERY_CLASSIFIER)]  # fmt: skip
    for protocol, shown in (("by-domain", "leave one domain out"), ("by-source", "leave one source out"),
                            ("5-fold", "stratified 5-fold (groups kept whole)")):  # fmt: skip
        rows = v2_refit(protocol)
        cells = " | ".join(f"{rows[n]['balanced_accuracy']:.3f}" for n in EVERY_CLASSIFIER)
        lines.append(f"| {shown} | {cells} |")
    return "\n".join(lines)


def table_v2_lodo() -> str:
    v2 = load("v2-lodo")
    names = list(v2["clean"])
    lines = ["| re-encoding of the test images | " + " | ".join(f"`{n}`" for n in names) + " |",
             "|---|" + "---:|" * len(names)]  # fmt: skip
    for transform, scores in v2.items():
        lines.append(f"| {transform} | " + " | ".join(f"{scores[n]['overall']:.3f}" for n in names) + " |")
    return "\n".join(lines)


def table_speed() -> str:
    result = load("classifiers")
    return str(_benchmark("classifiers").table(result))


def table_transfer() -> str:
    result = load("transfer")
    return str(_benchmark("transfer").render(result)).strip()


def table_bulk() -> str:
    result = load("bulk")
    return str(_benchmark("bulk").render(result)).strip()


def table_results_files() -> str:
    lines = ["| results file | what it holds | made by |", "|---|---|---|"]
    for spec in RESULTS.values():
        argv = " ".join(spec.argv(Path("OUT"), "V2_DIR")).replace(sys.executable, "python")
        needs = f" (needs {spec.needs})" if spec.needs else ""
        made = f"`python scripts/results.py make {spec.name}`: runs `{argv}`{needs}"
        lines.append(f"| `docs/results/{spec.name}.json` | {spec.what} | {made} |")
    for name, (path, command) in EXTERNAL.items():
        lines.append(f"| `{path.relative_to(REPO)}` | {name}: written with its Markdown table | `{command}` |")
    if not RESULTS["v2-refit"].path.exists():
        lines.append(
            f"| `{V2_EVERY_CLASSIFIER_PAGE.relative_to(REPO)}` | every classifier refitted on v2, as first recorded: "
            "read in place of `v2-refit.json` until that is made | two runs of `imgclass reproduce --data V2_DIR "
            "--cv domain --per-source --json` |"
        )
    return "\n".join(lines)


TABLES: dict[str, Callable[[], str]] = {
    "results-files": table_results_files,
    "poster": table_poster,
    "poster-by-source": table_poster_by_source,
    "reference-models": table_reference_models,
    "reference-robustness": table_reference_robustness,
    "classifiers": table_classifiers,
    "v2-every-classifier": table_v2_every_classifier,
    "v2-lodo": table_v2_lodo,
    "speed": table_speed,
    "transfer": table_transfer,
    "bulk": table_bulk,
}

BLOCK = re.compile(r"(<!-- results-table ([\w-]+) -->\n)(.*?)(<!-- end results-table -->)", re.DOTALL)


def pages() -> list[Path]:
    found = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return [p for p in found if not str(p.relative_to(REPO)).startswith(UNCHECKED_PAGES)]


def render(name: str) -> str:
    """Table ``name`` drawn from its results files; ``FileNotFoundError`` names a file not made yet."""
    if name not in TABLES:
        raise KeyError(f"no table renderer named {name!r} (scripts/results.py TABLES)")
    return TABLES[name]()


def redraw(text: str, missing: list[str]) -> str:
    """``text`` with every generated table drawn again; tables whose results file is missing stay as they are."""

    def one(match: re.Match[str]) -> str:
        try:
            return f"{match.group(1)}{render(match.group(2))}\n{match.group(4)}"
        except FileNotFoundError as error:
            missing.append(f"table {match.group(2)!r}: no results file {Path(str(error.filename)).name}")
            return match.group(0)

    return BLOCK.sub(one, text)


def numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from numbers(v)


#: Figures a page's prose may quote: three-decimal accuracies ("0.899"), ratios ("7.57x").
FIGURE = re.compile(r"(?<![\w.])(0\.\d{3}|\d+\.\d+x)(?![\w.])")
CODE = re.compile(r"^```.*?^```|`[^`\n]*`", re.MULTILINE | re.DOTALL)


def prose_figures(text: str) -> list[str]:
    """The figures quoted outside generated tables and code (inline code holds examples, not results)."""
    return FIGURE.findall(CODE.sub("", BLOCK.sub("", text)))


def known_values() -> set[str]:
    """Every number of every results file, as a page would print it (3 decimals, or 2 with an ``x``)."""
    shown: set[str] = set()
    files = [*RESULTS, *EXTERNAL]
    for name in files:
        try:
            result = load(name)
        except FileNotFoundError:
            continue
        for value in numbers(result):
            shown |= {f"{value:.3f}", f"{value:.2f}x", f"{value:.1f}x", f"{value:.0f}x"}
    if not RESULTS["v2-refit"].path.exists():
        first_record = _page_rows(V2_EVERY_CLASSIFIER_PAGE.read_text())
        shown |= {f"{row['balanced_accuracy']:.3f}" for rows in first_record.values() for row in rows.values()}
    return shown


def page_problems(text: str, where: str, known: set[str]) -> list[str]:
    """What disagrees between one page's text and the results files, one line each."""
    problems = []
    for match in BLOCK.finditer(text):
        name = match.group(2)
        try:
            if f"{render(name)}\n" != match.group(3):
                problems.append(f"{where}: table {name!r} differs from its results file")
        except (KeyError, FileNotFoundError) as error:
            problems.append(f"{where}: table {name!r}: {error}")
    stale = sorted({f for f in prose_figures(text) if f not in known})
    if stale:
        problems.append(f"{where}: figures in the prose that no results file holds: {', '.join(stale)}")
    return problems


def version_problems() -> list[str]:
    """Results files made with library versions other than the pinned ones."""
    problems = []
    pins = pinned_versions()
    for spec in RESULTS.values():
        if spec.path.exists():
            recorded = json.loads(spec.path.read_text())["made_with"]
            differ = {d: recorded.get(d) for d in PINNED if recorded.get(d) != pins.get(d)}
            if differ:
                problems.append(f"{spec.path.relative_to(REPO)} was made with {differ}, constraints.txt pins {pins}")
    return problems


def check() -> list[str]:
    """Every disagreement between a page and the results files, as one line each (empty when all agree)."""
    known = known_values()
    problems = [p for page in pages() for p in page_problems(page.read_text(), str(page.relative_to(REPO)), known)]
    return problems + version_problems()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="every results file and its command")
    make_parser = sub.add_parser("make", help="run a results file's command and write the file")
    make_parser.add_argument("names", nargs="+", choices=sorted(RESULTS), metavar="NAME")
    make_parser.add_argument("--v2", help="a built reference set v2 (for v2-refit)")
    make_parser.add_argument(
        "--from", dest="earlier", type=Path, help="the JSON an earlier run of exactly this command wrote (one NAME)"
    )
    sub.add_parser("tables", help="redraw every generated table from the results files")
    sub.add_parser("check", help="name each page whose figures disagree with the results files")
    args = parser.parse_args(argv)
    if args.action == "list":
        print(table_results_files())
        return 0
    if args.action == "make":
        if args.earlier is not None and len(args.names) != 1:
            parser.error("--from goes with one NAME")
        for name in args.names:
            print(make(name, args.v2, args.earlier).relative_to(REPO))
        return 0
    if args.action == "tables":
        missing: list[str] = []
        for page in pages():
            text = page.read_text()
            new = redraw(text, missing)
            if new != text:
                page.write_text(new)
                print(f"redrew {page.relative_to(REPO)}")
        for line in missing:
            print(f"not drawn: {line}", file=sys.stderr)
        return 1 if missing else 0
    problems = check()
    for line in problems:
        print(line)
    if problems:
        print("after `python scripts/results.py make NAME` for the results that changed, run "
              "`python scripts/results.py tables` and edit the prose figures named above", file=sys.stderr)  # fmt: skip
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
