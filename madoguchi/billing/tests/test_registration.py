from __future__ import annotations

import pytest

from madoguchi.billing.registration import (
    check_digit,
    is_valid_registration_number,
    normalize_registration_number,
)


@pytest.mark.parametrize(
    "number",
    ["T4011001098993", "T2120901007402", "T7123456789012", "T7120001168421", "T9011101097073"],
)
def test_known_registration_numbers_pass(number: str) -> None:
    assert is_valid_registration_number(number)


@pytest.mark.parametrize(
    "number",
    ["T5011001098993", "4011001098993", "T401100109899", "T40110010989930", "TX011001098993", ""],
)
def test_a_wrong_check_digit_or_shape_fails(number: str) -> None:
    assert not is_valid_registration_number(number)


def test_check_digit_of_a_base() -> None:
    assert check_digit("011001098993") == 4


def test_width_and_separators_are_folded() -> None:
    assert normalize_registration_number("ｔ４０１１-００１０ ９８９９３") == "T4011001098993"
