import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imgclass.features.tone import TONE_FEATURES, tone_stats
from imgclass.features.working_image import decode_working


def stats_of(bgr: tuple[int, int, int]) -> dict[str, float]:
    return dict(zip(TONE_FEATURES, tone_stats(np.full((8, 8, 3), bgr, np.uint8)), strict=True))


def test_golden_values(china_jpeg: bytes, cartoon_png: bytes) -> None:
    china = (0.241403, 0.20265, 0.03189, 0.291941, 0.61508, 0.324138, 0.164314, 0.045984, 0.70863)
    assert tone_stats(decode_working(china_jpeg, side=256)) == pytest.approx(china, abs=3e-3)
    cartoon = (0.280725, 0.29105, 0.128647, 0.04776, 0.870194, 0.196888, 0.0, 0.04776, 0.338908)
    assert tone_stats(decode_working(cartoon_png, side=256)) == pytest.approx(cartoon, abs=1e-4)


def test_plain_colours() -> None:
    white = stats_of((255, 255, 255))
    assert white["white_share"] == 1 and white["grey_share"] == 1 and white["saturation_mean"] == 0
    assert white["hue_entropy"] == 0 and white["value_mean"] == 1
    black = stats_of((0, 0, 0))
    assert black["black_share"] == 1 and black["white_share"] == 0 and black["value_mean"] == 0
    red = stats_of((0, 0, 255))
    assert red["vivid_share"] == 1 and red["grey_share"] == 0 and red["hue_entropy"] == 0
    assert red["saturation_mean"] == 1 and red["saturation_std"] == 0


def test_many_hues_have_high_entropy() -> None:
    hsv = np.zeros((18, 10, 3), np.uint8)
    hsv[..., 0] = (np.arange(18) * 10)[:, None]
    hsv[..., 1:] = 255
    import cv2

    stats = dict(zip(TONE_FEATURES, tone_stats(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)), strict=True))
    assert stats["hue_entropy"] == pytest.approx(1.0, abs=0.02)


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(3))))
def test_every_feature_is_a_share_or_a_normalised_statistic(image: np.ndarray) -> None:
    stats = tone_stats(image)
    assert len(stats) == len(TONE_FEATURES)
    assert all(0.0 <= s <= 1.0 + 1e-9 for s in stats)
    # Flipping the image moves pixels, not colours.
    assert tone_stats(np.ascontiguousarray(image[::-1, ::-1])) == pytest.approx(stats, abs=1e-9)
