"""``--classifier`` (and ``--model``) take several values after one flag, the flag repeated, or both."""

import argparse

import pytest

from imgclass.cli import build_parser
from imgclass.cli._args import add_classifier_option


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ("reproduce", "--classifier", "byte-length", "bilateral", "--classifier", "colour-count"),
        ("reproduce", "--classifier", "byte-length", "--classifier", "bilateral", "colour-count"),
        ("evaluate", "TEST", "--classifier", "byte-length", "bilateral", "colour-count"),
        ("evaluate", "--classifier", "byte-length", "bilateral", "--classifier", "colour-count", "--", "TEST"),
    ],
)
def test_several_names_after_one_flag_and_the_flag_repeated(argv: tuple[str, ...]) -> None:
    args = parse(*argv)
    assert args.classifier == ["byte-length", "bilateral", "colour-count"]


def test_models_too_and_absent_is_none() -> None:
    args = parse("reproduce", "--model", "a.json", "b.json", "--model", "c.json")
    assert args.model == ["a.json", "b.json", "c.json"] and args.classifier is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("reproduce", "--classifier", "byte-length", "nope"), "invalid choice: 'nope'"),
        (("reproduce", "--classifier", "bilateral", "--classifier", "bilateral"), "bilateral given more than once"),
        (("reproduce", "--classifier"), "expected at least one argument"),
    ],
)
def test_bad_lists_are_usage_errors(argv: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_the_helper_on_any_parser() -> None:
    parser = argparse.ArgumentParser()
    add_classifier_option(parser, "--classifier", "-c", help="which")
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args(["x.jpg", "-c", "a", "my-model.json", "-c", "b"])
    assert args.classifier == ["a", "my-model.json", "b"] and args.paths == ["x.jpg"]
    assert "several after one flag" in parser.format_help()
