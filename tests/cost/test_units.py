import pytest

from edgenas.errors import UsageError
from edgenas.units import format_bytes, format_count, parse_bytes, parse_count, parse_time_ms


@pytest.mark.parametrize(
    "text,expected",
    [("256KB", 262144), ("256K", 262144), ("256kB", 262144), ("256 KiB", 262144), ("1MB", 1048576),
     ("0.5MiB", 524288), ("1024", 1024), (" 16 kb ", 16384), ("100B", 100), (4096, 4096), ("1.5K", 1536)],
)
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "KB", "12 parsecs", "-1KB", "1.3B", "256KBB", "nan", "1e999MB", True])
def test_parse_bytes_rejects_nonsense_with_a_hint(text):
    with pytest.raises(UsageError) as err:
        parse_bytes(text)
    assert err.value.hint and err.value.exit_code == 2


@pytest.mark.parametrize("text,expected", [("50ms", 50.0), ("2s", 2000.0), ("300us", 0.3), ("12.5", 12.5), (7, 7.0)])
def test_parse_time(text, expected):
    assert parse_time_ms(text) == pytest.approx(expected)


def test_parse_time_rejects_unknown_units():
    with pytest.raises(UsageError, match="unknown time unit"):
        parse_time_ms("3 fortnights")


@pytest.mark.parametrize("text,expected", [("1.5M", 1_500_000), ("200k", 200_000), ("123456", 123456), ("2G", 2 * 10**9)])
def test_parse_count(text, expected):
    assert parse_count(text) == expected


def test_parse_count_rejects_fractions():
    with pytest.raises(UsageError):
        parse_count("1.5")


def test_format_round_trips_the_convention():
    assert format_bytes(23961) == "23.4 KB"
    assert format_bytes(512) == "512 B"
    assert parse_bytes(format_bytes(1536).replace(" ", "")) == 1536
    assert format_count(4_560_000) == "4.56M"


@pytest.mark.parametrize("parse", [parse_bytes, parse_time_ms, parse_count])
@pytest.mark.parametrize("text", ["1e308GB", "1e400", "9" * 400])
def test_numbers_too_large_for_a_float_say_so(parse, text):
    """--constraint ram=1e308GB was an OverflowError traceback; 1e400 was called negative."""
    unit = {parse_bytes: "GB", parse_time_ms: "s", parse_count: "G"}[parse]
    text = text.replace("GB", unit)
    with pytest.raises(UsageError, match="is too large"):
        parse(text)
