import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imgclass.decode import decode_image
from imgclass.features.colour_count import colour_codes, colour_counts, top_colour_share


def poster_share(image: np.ndarray, size: int | None, n_colours: int) -> float:
    """The poster's dict-per-pixel loop, kept as the reference the vectorised code must match."""
    if size is not None:
        image = cv2.resize(image, (size, size))
    counts: dict[tuple[int, ...], int] = {}
    for row in image:
        for item in row:
            value = tuple(int(v) for v in item)
            counts[value] = counts.get(value, 0) + 1
    top = sorted(counts.values(), reverse=True)[:n_colours]
    return sum(top) / (image.shape[0] * image.shape[1])


def test_golden_values(china_jpeg: bytes, flower_jpeg: bytes, cartoon_png: bytes) -> None:
    assert top_colour_share(decode_image(china_jpeg)) == pytest.approx(0.240533, abs=2e-3)
    assert top_colour_share(decode_image(flower_jpeg)) == pytest.approx(0.169771, abs=2e-3)
    assert top_colour_share(decode_image(cartoon_png)) == 1.0
    assert top_colour_share(decode_image(china_jpeg), size=None, n_colours=16) == pytest.approx(0.036951, abs=1e-3)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(3)), elements=st.integers(0, 3)),
    st.integers(1, 20),
    st.sampled_from([None, 8]),
)
def test_matches_the_posters_loop(image: np.ndarray, n_colours: int, size: int | None) -> None:
    assert top_colour_share(image, size=size, n_colours=n_colours) == pytest.approx(
        poster_share(image, size, n_colours)
    )


def test_properties() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    shares = [top_colour_share(image, size=None, n_colours=n) for n in (1, 10, 100, 2000)]
    assert shares == sorted(shares) and shares[-1] == 1.0  # monotone in N, all colours cover all
    assert top_colour_share(np.zeros((5, 5, 3), np.uint8), size=None, n_colours=1) == 1.0
    assert colour_counts(image).sum() == 32 * 32
    assert colour_codes(np.array([[[1, 2, 3]]], np.uint8)).tolist() == [(1 << 16) | (2 << 8) | 3]


def test_bad_arguments() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="n_colours"):
        top_colour_share(image, n_colours=0)
    with pytest.raises(ValueError, match="size"):
        top_colour_share(image, size=0)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        top_colour_share(np.zeros((4, 4), np.uint8), size=None)
