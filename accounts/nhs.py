"""Formats used in the NHS: NHS numbers (Modulus 11), UK postcodes, phone numbers, names."""

import re
import unicodedata

from django.core.exceptions import ValidationError

_NHS_WEIGHTS = range(10, 1, -1)
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


def normalise_nhs_number(value: str) -> str:
    """Drop the spaces and dashes people type ("943 476 5919" -> "9434765919")."""
    return re.sub(r"[\s-]", "", value)


def nhs_check_digit(stem: str) -> int | None:
    """The Modulus 11 check digit of a nine-digit stem; None if no number has that stem.

    The one place the NHS number algorithm is written: validation, demo data and test
    factories all call it.
    """
    total = sum(int(digit) * weight for digit, weight in zip(stem, _NHS_WEIGHTS, strict=True))
    check = (11 - total % 11) % 11
    # A remainder giving 10 means the number is never issued.
    return None if check == 10 else check


def is_valid_nhs_number(value: str) -> bool:
    """Ten digits whose last is the Modulus 11 check digit of the first nine."""
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    return nhs_check_digit(value[:9]) == int(value[9])


def format_nhs_number(value: str) -> str:
    """The 3 3 4 grouping used on NHS letters and screens."""
    return f"{value[:3]} {value[3:6]} {value[6:]}" if len(value) == 10 else value


def normalise_postcode(value: str) -> str | None:
    """Upper-case with one space before the inward code, or None if it is not a UK postcode."""
    compact = re.sub(r"\s+", "", value).upper()
    match = _POSTCODE.match(compact)
    return f"{match.group(1)} {match.group(2)}" if match else None


def normalise_phone(value: str) -> str | None:
    """E.164 form; UK numbers typed as 07... become +447.... None if not a phone number."""
    compact = re.sub(r"[\s()-]", "", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif compact.startswith("0"):
        compact = "+44" + compact[1:]
    return compact if _E164.match(compact) else None


# Control characters (Cc), invisible formatting (Cf: bidirectional overrides, zero-width
# spaces) and line or paragraph separators: in a name they hide or reorder what staff read on
# screen and in letters.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})
# The zero-width non-joiner and joiner, which Persian and several Indic scripts need between
# two letters; anywhere else they only hide something.
_JOINERS = frozenset({"\u200c", "\u200d"})
# Letters that show as nothing at all (the Hangul fillers).
_BLANK_LETTERS = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0"})
INVALID_NAME = "Names cannot contain hidden or formatting characters."


def _shown(value: str, index: int) -> bool:
    char = value[index]
    if char in _JOINERS:
        return (
            0 < index < len(value) - 1 and value[index - 1].isalpha() and value[index + 1].isalpha()
        )
    return char not in _BLANK_LETTERS and unicodedata.category(char) not in _INVISIBLE


def has_invisible_characters(value: str) -> bool:
    """Whether ``value`` holds a character that is not shown, or changes how others are shown."""
    return not all(_shown(value, index) for index in range(len(value)))


def without_invisible_characters(value: str) -> str:
    """``value`` without them, for names that come from elsewhere (a Cognito user pool) and
    cannot be sent back to be typed again."""
    return "".join(char for index, char in enumerate(value) if _shown(value, index))


def validate_person_name(value: str) -> None:
    """Model-level check, so the admin refuses what the API refuses."""
    if has_invisible_characters(value):
        raise ValidationError(INVALID_NAME, code="invalid_name")
