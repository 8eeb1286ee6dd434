import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgclass.features.byte_lengths import byte_length_matrix, byte_lengths, byte_lengths_fast


def test_golden_values(china_jpeg: bytes, flower_jpeg: bytes, cartoon_png: bytes) -> None:
    assert byte_lengths(china_jpeg) == (196653, 393306, 262204)
    assert byte_lengths(flower_jpeg) == (142987, 285974, 190652)
    assert byte_lengths(cartoon_png) == (6421, 12842, 8564)


@given(st.binary(max_size=3000))
def test_hex_is_2n_and_base64_is_4_ceil_n_over_3(data: bytes) -> None:
    n = len(data)
    assert byte_lengths(data) == (n, 2 * n, 4 * -(-n // 3)) == byte_lengths_fast(n)


def test_matrix_shape_and_values() -> None:
    m = byte_length_matrix([b"", b"abcd"])
    np.testing.assert_array_equal(m, [[0, 0, 0], [4, 8, 8]])
    assert byte_length_matrix([]).shape == (0, 3)


def test_negative_count() -> None:
    with pytest.raises(ValueError):
        byte_lengths_fast(-1)
