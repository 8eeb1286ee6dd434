"""Benchmark every classifier per image, on one core, against decoding and against the poster's loop.

    python benchmarks/classifiers.py                 # the reference set, a few minutes
    python benchmarks/classifiers.py --quick         # 60 images, 2 poster images: a smoke run

All figures come from one process and one run, on the reference set held in memory (no disk reads are
timed), with OpenMP, BLAS and OpenCV limited to one thread. A classifier's time per image is its
feature extraction on that image (decoding included: classifiers take encoded bytes) plus its share of
one batch prediction over the whole set; each image is timed ``--repeat`` times and the fastest kept
(timeit's practice: the slower runs measure the other processes on the machine, not the code), then the
median over the set is reported. Times are CPU time of this thread (``time.thread_time``), so
helpers running beside the benchmark slow the wall clock but not the figures; wall-clock medians are in
the JSON too.

Ratios, all against figures of the same run:

* ``x decode``: against ``cv2.imdecode`` of the same image alone (the floor for any pixel classifier),
  as the median over images of the per-image ratio;
* speed-up of ``colour-count`` (the vectorised count) over the poster's own per-pixel Python dict loop,
  reproduced below, on the first ``--poster-images`` images (the loop takes seconds per image);
* files/s for every classifier (1000 / ms per image), the figure that matters for ``byte-stream``;
* a 2048x1536 photograph (``--large``, default ``fast`` and ``combined``): one of the set's photos
  enlarged with cubic interpolation, given sensor-like noise (seeded) and saved as JPEG q90, against
  ``cv2.imdecode`` of that file: a camera-sized file decodes slowly, while the classifiers read a
  reduced decode, so the ratio is much smaller than at 512x512;
* model resident memory (``--memory``, same classifiers): the growth of a fresh process's resident set
  from loading the model and classifying one image, over a process that imported imgclass and
  decoded that image (the embedding network and its buffers included).
"""

from __future__ import annotations

import os

# Before numpy, scikit-learn and OpenCV start their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

from _requires import require  # noqa: E402

require(["numpy", "cv2", "sklearn", "imgclass"])  # the core package: say so before anything starts

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from imgclass import __version__  # noqa: E402
from imgclass.classifiers import classifier_names  # noqa: E402
from imgclass.data import load_dataset  # noqa: E402
from imgclass.ready import pretrained  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "classifiers.json"


def poster_colour_share(data: bytes) -> float:
    """The poster's ``classify_2``: resize to 1024x1024, count colours in a dict, share of the top 512."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    img = cv2.resize(img, (1024, 1024))
    a: dict[tuple[int, ...], int] = {}
    for row in img:
        for item in row:
            value = tuple(item)
            if value not in a:
                a[value] = 1
            else:
                a[value] += 1
    most_common_colors = sum([x[1] for x in sorted(a.items(), key=lambda pair: pair[1], reverse=True)[:512]])
    return most_common_colors / (1024 * 1024)


def best_of(function: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Fastest CPU and wall time of ``repeat`` calls, in ms."""
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.thread_time(), time.perf_counter()
        function()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu) * 1e3, min(wall) * 1e3


def per_image(images: list[bytes], function: Callable[[bytes], Any], repeat: int) -> tuple[np.ndarray, np.ndarray]:
    times = [best_of(lambda data=data: function(data), repeat) for data in images]  # type: ignore[misc]
    array = np.array(times)
    return array[:, 0], array[:, 1]


def large_photo(images: list[bytes], labels: np.ndarray, size: tuple[int, int] = (2048, 1536)) -> bytes:
    """A camera-sized JPEG q90: the first photograph enlarged, with seeded sensor-like noise."""
    photo = cv2.imdecode(np.frombuffer(images[int(np.flatnonzero(labels == 0)[0])], np.uint8), cv2.IMREAD_COLOR)
    big = cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    big += np.random.default_rng(0).normal(0, 3, big.shape).astype(np.float32)
    ok, buf = cv2.imencode(".jpg", np.clip(big, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(buf)


_MEMORY_PROBE = """
import os, sys
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
import cv2
cv2.setNumThreads(1)
from imgclass.ready import pretrained
from imgclass.data import load_dataset
from imgclass.decode import decode_image

def rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

image = load_dataset().images[0]
decode_image(image)
before = rss_kb()
pretrained(sys.argv[1]).predict_proba([image])
print(rss_kb() - before)
"""


def model_memory_mb(name: str) -> float:
    """Resident-set growth (MB) of a fresh process from loading ``name`` and classifying one image."""
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, name], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024


def run(args: argparse.Namespace) -> dict[str, Any]:
    cv2.setNumThreads(1)
    dataset = load_dataset(args.data)
    step = max(1, len(dataset) // 60) if args.quick else 1
    images, labels = dataset.images[::step], dataset.labels[::step]
    n = len(images)
    print(f"{n} images from {dataset.root}, best of {args.repeat} per image, one thread", file=sys.stderr)

    decode_cpu, decode_wall = per_image(
        images, lambda d: cv2.imdecode(np.frombuffer(d, np.uint8), cv2.IMREAD_UNCHANGED), args.repeat
    )
    rows: dict[str, dict[str, Any]] = {
        "decode only": {
            "ms_per_image": float(np.median(decode_cpu)),
            "wall_ms_per_image": float(np.median(decode_wall)),
            "x_decode": 1.0,
        }
    }
    names = args.classifier or list(classifier_names())
    for name in names:
        print(f"  {name}", file=sys.stderr)
        classifier = pretrained(name)  # loaded or fitted here, outside the timed part
        feature_cpu, feature_wall = per_image(images, classifier.image_features, args.repeat)
        features = classifier.extract_features(images)
        model = classifier.fitted_model()
        batch_cpu, batch_wall = best_of(functools.partial(model.predict_proba, features), args.repeat)
        total_cpu = feature_cpu + batch_cpu / n
        total_wall = feature_wall + batch_wall / n
        ratio = total_cpu / decode_cpu
        rows[name] = {
            "ms_per_image": float(np.median(total_cpu)),
            "wall_ms_per_image": float(np.median(total_wall)),
            "model_ms_per_image": batch_cpu / n,
            "files_per_s": 1e3 / float(np.median(total_cpu)),
            "x_decode": float(np.median(ratio)),
            "x_decode_ratio_of_medians": float(np.median(total_cpu) / np.median(decode_cpu)),
            "x_decode_p90": float(np.percentile(ratio, 90)),
            "x_decode_real": float(np.median(ratio[labels == 0])),
            "x_decode_animated": float(np.median(ratio[labels == 1])),
        }

    large: dict[str, Any] = {}
    if args.large:
        photo = large_photo(images, labels)
        decode_large, _ = best_of(
            lambda: cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_UNCHANGED), args.repeat
        )
        large = {"size": "2048x1536", "bytes": len(photo), "decode_ms": decode_large, "rows": {}}
        for name in args.large:
            classifier = pretrained(name)
            ms, _ = best_of(lambda c=classifier: c.predict_proba([photo]), args.repeat)
            large["rows"][name] = {"ms": ms, "x_decode": ms / decode_large}
    memory = {name: model_memory_mb(name) for name in args.memory}

    poster_images = images[: args.poster_images]
    poster: dict[str, Any] = {}
    if poster_images and "colour-count" in rows:
        from imgclass.decode import decode_image
        from imgclass.features.colour_count import top_colour_share

        print(f"  poster dict loop on {len(poster_images)} images", file=sys.stderr)
        loop_cpu, loop_wall = per_image(poster_images, poster_colour_share, 1)
        ours_cpu, _ = per_image(poster_images, lambda d: top_colour_share(decode_image(d)), args.repeat)
        agree = [abs(poster_colour_share(d) - top_colour_share(decode_image(d))) < 1e-9 for d in poster_images[:1]]
        poster = {
            "images": len(poster_images),
            "ms_per_image": float(np.median(loop_cpu)),
            "wall_ms_per_image": float(np.median(loop_wall)),
            "colour_count_ms_same_images": float(np.median(ours_cpu)),
            "speed_up": float(np.median(loop_cpu) / np.median(ours_cpu)),
            "same_share": all(agree),
            "x_decode": float(np.median(loop_cpu) / np.median(decode_cpu)),
        }
    return {
        "benchmark": "classifiers",
        "imgclass": __version__,
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "machine": platform.machine(),
        "data": str(dataset.root),
        "images": n,
        "repeat": args.repeat,
        "clock": "thread CPU time, best of repeat per image, median over images",
        "rows": rows,
        "large_photo": large,
        "model_memory_mb": memory,
        "poster_loop": poster,
    }


def table(result: dict[str, Any]) -> str:
    """A Markdown table of the result."""
    lines = [
        "| classifier | ms / image (1 core) | x decode | files / s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in result["rows"].items():
        shown = "decode only (`cv2.imdecode`)" if name == "decode only" else f"`{name}`"
        files = f"{1e3 / row['ms_per_image']:,.0f}"
        lines.append(f"| {shown} | {row['ms_per_image']:.2f} | {row['x_decode']:.2f} | {files} |")
    poster = result["poster_loop"]
    if poster:
        lines.append(
            f"| poster's dict loop (colour count, {poster['images']} images) | {poster['ms_per_image']:,.0f} | "
            f"{poster['x_decode']:,.0f} | {1e3 / poster['ms_per_image']:.2f} |"
        )
        lines.append("")
        lines.append(
            f"`colour-count` computes the poster's share {poster['speed_up']:,.0f}x faster than the poster's loop "
            f"on the same images ({poster['colour_count_ms_same_images']:.1f} ms against "
            f"{poster['ms_per_image']:,.0f} ms; same value: {poster['same_share']})."
        )
    large = result.get("large_photo") or {}
    if large:
        lines += ["", "| 2048x1536 photo (JPEG q90) | ms (1 core) | x decode |", "| --- | ---: | ---: |"]
        lines.append(f"| decode only (`cv2.imdecode`) | {large['decode_ms']:.2f} | 1.00 |")
        for name, row in large["rows"].items():
            lines.append(f"| `{name}` (classify one image) | {row['ms']:.2f} | {row['x_decode']:.2f} |")
    if result.get("model_memory_mb"):
        lines += ["", "| model resident memory | MB |", "| --- | ---: |"]
        lines += [f"| `{name}` | {mb:.1f} |" for name, mb in result["model_memory_mb"].items()]
    lines.append("")
    lines.append(
        f"{result['images']} images (512x512 JPEG q90) in memory, one thread, CPU time, best of "
        f"{result['repeat']} per image, median over images; x decode is the median per-image ratio."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", metavar="DIR", help="data set folder (default: the bundled reference set)")
    parser.add_argument("--classifier", action="append", metavar="NAME", help="only these (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per image; the fastest is kept")
    parser.add_argument("--poster-images", type=int, default=5, help="images for the poster's slow loop")
    parser.add_argument("--quick", action="store_true", help="60 images, 2 poster images")
    parser.add_argument(
        "--large",
        action="append",
        metavar="NAME",
        help="classifiers timed on a 2048x1536 photo (default fast, combined)",
    )
    parser.add_argument(
        "--memory",
        action="append",
        metavar="NAME",
        help="classifiers whose resident memory is measured (default fast, combined)",
    )
    parser.add_argument("--json", metavar="FILE", default=str(RESULTS), help="where to write the JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.poster_images = min(args.poster_images, 2)
    args.large = args.large if args.large is not None else ["fast", "combined"]
    args.memory = args.memory if args.memory is not None else ["fast", "combined"]
    result = run(args)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
