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


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return dict(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_every_command_with_classifier_takes_fast() -> None:
    with_classifier = {name for name, sub in _commands().items() if "--classifier" in sub._option_string_actions}
    assert {"classify", "evaluate", "reproduce", "serve", "train"} <= with_classifier
    for name in sorted(with_classifier):
        assert "--fast" in _commands()[name]._option_string_actions, f"imgclass {name} lacks --fast"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("serve", "--fast"), ["fast"]),
        (("reproduce", "--fast"), ["fast"]),
        (("reproduce", "--classifier", "bilateral", "--fast"), ["bilateral", "fast"]),
        (("evaluate", "TEST", "--fast", "--classifier", "byte-length"), ["fast", "byte-length"]),
        (("train", "DIR", "--fast", "--out", "m.json"), "fast"),
        (("classify", "x.jpg", "--fast"), "fast"),
    ],
)
def test_fast_means_classifier_fast(argv: tuple[str, ...], expected: object) -> None:
    assert parse(*argv).classifier == expected


def test_fast_twice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("reproduce", "--classifier", "fast", "--fast")
    assert "fast given more than once" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", ["classify x.jpg", "reproduce", "evaluate TEST", "train DIR --fast --out m", "send x"]
)
def test_verbosity_flags_before_and_after_the_command(command: str) -> None:
    import logging

    from imgclass.cli._args import log_level

    words = command.split()
    assert log_level(parse(*words)) == logging.WARNING
    assert log_level(parse(*words, "-v")) == logging.INFO
    assert log_level(parse("-v", *words, "-v")) == logging.DEBUG
    assert log_level(parse(*words, "-q")) == logging.ERROR
    assert log_level(parse("-v", *words, "-q")) == logging.WARNING
    args = parse(*words, "-vv")
    log_level(args)
    assert args.verbose == 2  # what classify reads to leave Dask's logs on
