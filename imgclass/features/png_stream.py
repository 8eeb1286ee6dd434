"""Features of a PNG's compressed stream read from its deflate codes (:mod:`imgclass.parsers.deflate`), no pixel.

What the encoder chose tells how the filtered rows look without producing them: flat fills filter to runs
of zeros that deflate codes as long matches one byte or one row back; photographs leave mostly literals
of varied value, short matches and a literal code spending more bits per literal.
"""

from __future__ import annotations

import math

from imgclass.parsers.deflate import DeflateStats

DEFLATE_FEATURES: tuple[str, ...] = (
    "deflate_dynamic_share",
    "deflate_stored_share",
    "deflate_literal_share",
    "deflate_zero_literal_share",
    "deflate_log2_match_length",
    "deflate_distance_code",
    "deflate_left_share",
    "deflate_up_share",
    "deflate_log2_bytes_per_symbol",
    "deflate_literal_code_bits",
    "deflate_length_codes",
    "deflate_distance_codes",
    "deflate_fault",
)


def deflate_features(stats: DeflateStats | None) -> tuple[float, ...]:
    """The :data:`DEFLATE_FEATURES` of a stream's statistics (zeros for ``None``: not a PNG)."""
    if stats is None:
        return (0.0,) * len(DEFLATE_FEATURES)
    blocks = stats.stored_blocks + stats.fixed_blocks + stats.dynamic_blocks
    symbols, matches, literals = stats.symbols, stats.matches, stats.literals
    return (
        stats.dynamic_blocks / blocks if blocks else 0.0,
        stats.stored_blocks / blocks if blocks else 0.0,
        literals / symbols if symbols else 0.0,
        stats.zero_literals / literals if literals else 0.0,
        math.log2(1 + stats.match_length / matches) if matches else 0.0,
        stats.distance_code / matches if matches else 0.0,
        stats.left_matches / matches if matches else 0.0,
        stats.up_matches / matches if matches else 0.0,
        math.log2(1 + stats.output_bytes / symbols) if symbols else 0.0,
        stats.literal_code_bits,
        max(0, stats.first_hlit - 257) / 29,
        stats.first_hdist / 30,
        float(stats.fault),
    )
