"""Features of a WEBP's data headers (:mod:`imgclass.parsers.webp`): encoder decisions, no pixel.

For lossy data, the share of the file the first partition takes (per-macroblock prediction modes: large
when the DCT tokens are few, as in flat drawings), the quantiser and loop filter; for lossless data,
whether the first transform is a palette and how large it is.
"""

from __future__ import annotations

import math

from imgclass.parsers.webp import WebpInfo

WEBP_FEATURES: tuple[str, ...] = (
    "webp_lossless",
    "webp_alpha",
    "webp_first_partition_share",
    "webp_quantiser",
    "webp_filter_level",
    "webp_sharpness",
    "webp_segmentation",
    "webp_palette",
    "webp_log2_palette_size",
    "webp_predictor",
    "webp_extra_chunks",
)


def webp_features(info: WebpInfo | None) -> tuple[float, ...]:
    """The :data:`WEBP_FEATURES` of a parsed WEBP (zeros for ``None``: not a WEBP)."""
    if info is None:
        return (0.0,) * len(WEBP_FEATURES)
    return (
        float(info.lossless),
        float(info.has_alpha),
        info.first_partition / info.data_bytes if info.data_bytes else 0.0,
        info.quantiser / 127,
        info.filter_level / 63,
        info.sharpness / 7,
        float(info.segmentation),
        float(info.first_transform == 3),
        math.log2(1 + info.palette_size),
        float(info.first_transform in (0, 1, 2)),
        float(info.extra_chunks),
    )
