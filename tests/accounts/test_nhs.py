import pytest

from accounts.nhs import (
    format_nhs_number,
    is_valid_nhs_number,
    normalise_nhs_number,
    normalise_phone,
    normalise_postcode,
)
from tests.factories import fake_nhs_number


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "9990000026"])
def test_it_accepts_nhs_numbers_with_a_correct_check_digit(number):
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # check digit off by one
        "943476591",  # nine digits
        "94347659190",  # eleven digits
        "94347659a9",  # a letter
        "١٢٣٤٥٦٧٨٩٠",  # non-ASCII digits
        "1000000010",  # remainder gives check digit 10: never issued
    ],
)
def test_it_refuses_malformed_nhs_numbers(number):
    assert not is_valid_nhs_number(number)


def test_it_strips_spaces_and_dashes_from_typed_nhs_numbers():
    assert normalise_nhs_number("943 476-5919") == "9434765919"


def test_it_formats_nhs_numbers_three_three_four():
    assert format_nhs_number("9434765919") == "943 476 5919"


def test_the_test_range_generator_only_makes_valid_numbers():
    numbers = {fake_nhs_number() for _ in range(200)}
    assert all(n.startswith("999") and is_valid_nhs_number(n) for n in numbers)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" LS1  4AP", "LS1 4AP"),
        ("M1 1AE", "M1 1AE"),
        ("B338TH", "B33 8TH"),
    ],
)
def test_it_normalises_uk_postcodes(typed, stored):
    assert normalise_postcode(typed) == stored


@pytest.mark.parametrize("typed", ["ABC", "12345", "SW1A 1A", ""])
def test_it_refuses_things_that_are_not_postcodes(typed):
    assert normalise_postcode(typed) is None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("07700 900123", "+447700900123"),
        ("+44 7700 900123", "+447700900123"),
        ("0044 7700 900123", "+447700900123"),
        ("(07700) 900-123", "+447700900123"),
    ],
)
def test_it_normalises_phone_numbers_to_e164(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["hello", "+0123456789", "123", "+4477009001234567"])
def test_it_refuses_things_that_are_not_phone_numbers(typed):
    assert normalise_phone(typed) is None
