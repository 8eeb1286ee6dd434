"""Pure feature functions on encoded bytes or decoded arrays, one concept per module."""

from imgclass.features.bilateral import bilateral_distance
from imgclass.features.byte_lengths import byte_lengths
from imgclass.features.colour_count import top_colour_share

__all__ = ["bilateral_distance", "byte_lengths", "top_colour_share"]
