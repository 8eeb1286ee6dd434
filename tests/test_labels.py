import numpy as np
import pytest

from imgclass.labels import ANIMATED, LABEL_NAMES, REAL, encode_labels, label_name


def test_names_and_values_agree() -> None:
    assert (REAL, ANIMATED) == (0, 1)
    assert [label_name(i) for i in (0, 1)] == list(LABEL_NAMES) == ["real", "animated"]


def test_encode_accepts_ints_bools_and_names() -> None:
    got = encode_labels([0, 1, True, np.int64(0), "real", "animated"])
    assert got.tolist() == [0, 1, 1, 0, 0, 1]


@pytest.mark.parametrize("bad", [2, -1, "cartoon", 0.5, None])
def test_encode_rejects_anything_else(bad: object) -> None:
    with pytest.raises(ValueError, match="label"):
        encode_labels([0, bad])


def test_label_name_rejects_unknown() -> None:
    with pytest.raises(ValueError):
        label_name(3)
