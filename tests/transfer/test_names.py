"""Client-supplied names cannot escape the folder, hide, or smuggle in an extension."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgclass.transfer.names import MAX_STEM_BYTES, candidate_names, extension_for, is_windows_device, safe_stem


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("cat.png", "cat"),
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("..\\..\\windows\\win.ini", "win"),
        ("C:\\Users\\me\\cat.jpg", "cat"),
        ("photos/2024/cat.jpeg", "cat"),
        ("..", "image"),
        ("...", "image"),
        ("", "image"),
        ("/", "image"),
        (".bashrc", "bashrc"),
        (".hidden.png", "hidden"),
        ("a\x00b\nc\x1b[31m.png", "abc[31m"),
        ("evil\u202egnp.exe", "evilgnp"),  # right-to-left override would show "exe.png"
        ("CON.png", "_CON"),
        ("nul", "_nul"),
        ("CONIN$", "_CONIN$"),
        ("conout$.txt", "_conout$"),
        ("CLOCK$.png", "_CLOCK$"),
        ("config$", "_config$"),
        ("clock.png", "clock"),  # only with the dollar sign
        ("COM\u00b9.png", "_COM\u00b9"),
        ("lpt\u00b2", "_lpt\u00b2"),
        ("LPT\u00b3.tar.gz", "_LPT\u00b3.tar"),
        ("com0", "_com0"),
        ("Aux .png", "_Aux"),
        ("prn. .x.png", "_prn. .x"),
        ("nul...", "_nul"),
        ("COM10.png", "COM10"),
        ("console.png", "console"),
        ("CON\u2074.png", "CON\u2074"),  # superscript four is no digit to Windows
        ('a<b>c:d"e|f?g*h.png', "a_b_c_d_e_f_g_h"),
        ("trailing. ", "trailing"),
        ("e\u0301.png", "\u00e9"),  # NFC
    ],
)
def test_safe_stem(name: str, stem: str) -> None:
    assert safe_stem(name) == stem


def test_long_names_are_cut_on_a_character_boundary() -> None:
    stem = safe_stem("é" * 500 + ".png")
    assert len(stem.encode("utf-8")) <= MAX_STEM_BYTES
    assert set(stem) == {"é"}


def test_extension_comes_from_the_content() -> None:
    assert extension_for("cat.JPEG", "jpeg") == ".jpeg"
    assert extension_for("cat.png", "jpeg") == ".jpg"
    assert extension_for("page.html", "png") == ".png"
    assert extension_for("x", "tiff") == ".tif"


def test_candidates_fall_back_to_digest_suffixes() -> None:
    digest = "ab" * 32
    assert candidate_names("../cat.png", "png", digest) == [
        "cat.png",
        f"cat-{digest[:8]}.png",
        f"cat-{digest[:16]}.png",
        f"cat-{digest}.png",
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_name_gives_a_safe_stem(name: str) -> None:
    stem = safe_stem(name)
    assert stem and stem not in (".", "..")
    assert not stem.startswith(".")
    assert "/" not in stem and "\\" not in stem
    assert not any(unicodedata.category(ch).startswith("C") for ch in stem)
    assert len(stem.encode("utf-8")) <= MAX_STEM_BYTES
    assert not is_windows_device(stem)


@pytest.mark.parametrize(
    "device",
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$", "CONFIG$"]
    + [f"{port}{d}" for port in ("COM", "LPT") for d in "0123456789\u00b9\u00b2\u00b3"],
)
@pytest.mark.parametrize("form", ["{}", "{}.png", "{}.tar.gz", "{} .png", "{}. .png", "{}  ", "{}..."])
def test_every_windows_device_form_is_prefixed(device: str, form: str) -> None:
    for variant in (device, device.lower(), device.title()):
        stem = safe_stem(form.format(variant))
        assert stem.startswith("_") and not is_windows_device(stem), (form, variant, stem)
