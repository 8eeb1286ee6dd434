import importlib
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from imgclass.decode import ImageDecodeError, decode_image, flatten_alpha, to_bgr8
from tests.conftest import encode


def test_bgr_round_trip_is_exact_for_png() -> None:
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    out = decode_image(encode(image))
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    np.testing.assert_array_equal(out, image)


def test_alpha_is_flattened_onto_white() -> None:
    bgra = np.zeros((4, 4, 4), np.uint8)
    bgra[..., 2] = 255  # red
    bgra[:2, :, 3] = 255  # top half opaque, bottom half transparent
    out = decode_image(encode(bgra))
    np.testing.assert_array_equal(out[0, 0], [0, 0, 255])
    np.testing.assert_array_equal(out[3, 3], [255, 255, 255])


def test_half_alpha_blends() -> None:
    pixel = np.array([[[0, 0, 0, 128]]], np.uint8)
    assert flatten_alpha(pixel)[0, 0].tolist() == [127, 127, 127]


def test_gray_and_16_bit_become_bgr8() -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert decode_image(encode(gray)).shape == (3, 4, 3)
    deep = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)
    out = to_bgr8(deep)
    assert out.dtype == np.uint8 and out[0, 0, 0] == 0 and out[-1, -1, 0] == 55000 // 257


def test_not_an_image() -> None:
    with pytest.raises(ImageDecodeError, match="unknown magic"):
        decode_image(b"GIF00 not an image")
    with pytest.raises(ImageDecodeError, match="PDF is a document format"):
        decode_image(b"%PDF-1.4 not an image")
    with pytest.raises(ValueError, match=r"^empty file$"):  # ImageDecodeError is a ValueError
        decode_image(b"")


def test_truncated_image_is_refused(china_jpeg: bytes) -> None:
    with pytest.raises(ImageDecodeError):
        decode_image(china_jpeg[:300])


def test_bomb_header_is_refused_before_decoding() -> None:
    png = bytearray(encode(np.zeros((2, 2, 3), np.uint8)))
    png[16:24] = struct.pack(">II", 100_000, 100_000)  # claims 10 gigapixels
    with pytest.raises(ImageDecodeError, match="exceeds the limit"):
        decode_image(bytes(png))
    with pytest.raises(ImageDecodeError, match="exceeds the limit"):
        decode_image(encode(np.zeros((10, 10, 3), np.uint8)), max_pixels=99)


def test_decodes_sample_photo(china_jpeg: bytes) -> None:
    assert decode_image(china_jpeg).shape == cv2.imread(
        str(__import__("tests.conftest", fromlist=["SAMPLE_DIR"]).SAMPLE_DIR / "china.jpg")
    ).shape


# Phone photos: HEIC (pi-heif) and AVIF (Pillow), the `heif` extra, which the test extra installs.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PHONE = {"heif": (FIXTURES / "drawing.heic").read_bytes(), "avif": (FIXTURES / "drawing.avif").read_bytes()}


@pytest.mark.parametrize("fmt", sorted(PHONE))
def test_phone_formats_decode_like_their_png(fmt: str) -> None:
    image = decode_image(PHONE[fmt])
    assert image.shape == (64, 96, 3) and image.dtype == np.uint8
    # The drawing (make_phone_formats.py): a yellow sun at the top left, a red wall at the bottom right.
    sun, wall = image[16, 18].astype(int), image[50, 70].astype(int)
    assert sun[2] > 200 and sun[1] > 170 and sun[0] < 80, sun
    assert wall[2] > 150 and wall[1] < 110 and wall[0] < 90, wall


@pytest.mark.parametrize("fmt", sorted(PHONE))
def test_phone_formats_name_the_extra_when_it_is_missing(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import features

    real_import = importlib.import_module

    def no_pi_heif(name: str, *args: object) -> object:
        if name == "pi_heif":
            raise ImportError(name)
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_pi_heif)
    monkeypatch.setattr(features, "check", lambda name: name != "avif")
    with pytest.raises(ImageDecodeError, match=r"need the optional 'heif' extra: pip install 'imgclass-rva\[heif\]'"):
        decode_image(PHONE[fmt])


@pytest.mark.parametrize("fmt", sorted(PHONE))
def test_phone_formats_check_the_pixel_limit_before_decoding(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import imgclass.decode

    data = PHONE[fmt]
    at = data.index(b"ispe") + 8
    bomb = data[:at] + (100_000).to_bytes(4, "big") * 2 + data[at + 8 :]

    def never(*args: object) -> None:
        raise AssertionError("decoded before the pixel limit was checked")

    monkeypatch.setattr(imgclass.decode, "decode_with_pillow", never)
    with pytest.raises(ImageDecodeError, match="100000x100000 pixels exceeds the limit"):
        decode_image(bomb)


@pytest.mark.parametrize("fmt", sorted(PHONE))
def test_a_truncated_phone_photo_is_a_decode_error(fmt: str) -> None:
    data = PHONE[fmt]
    with pytest.raises(ImageDecodeError, match=f"{fmt} image could not be decoded"):
        decode_image(data[: len(data) - 200])
