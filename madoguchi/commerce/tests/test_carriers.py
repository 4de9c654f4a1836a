import json

import pytest

from madoguchi.commerce.carriers import (
    Carrier,
    carrier_from_name,
    is_7dr,
    is_s10,
    is_valid_tracking_number,
    normalize_tracking_number,
    s10_check_digit,
    tracking_url,
)

VALID_7DR = "123456789013"  # 12345678901 mod 7 = 3


def corruptions(number: str) -> list[str]:
    """Every single-digit change of `number` (each must fail a check digit)."""
    out = []
    for position, digit in enumerate(number):
        if not digit.isdigit():
            continue
        for replacement in "0123456789":
            if replacement != digit:
                out.append(number[:position] + replacement + number[position + 1 :])
    return out


@pytest.mark.parametrize("carrier", [Carrier.YAMATO, Carrier.SAGAWA, Carrier.JAPANPOST])
def test_7dr_carriers_accept_a_valid_number(carrier):
    assert is_valid_tracking_number(carrier, VALID_7DR) is True
    assert is_valid_tracking_number(carrier, "400012345675") is (40001234567 % 7 == 5)


@pytest.mark.parametrize("carrier", [Carrier.YAMATO, Carrier.SAGAWA, Carrier.JAPANPOST])
def test_7dr_carriers_reject_a_changed_check_digit(carrier):
    for check in "0124567":
        assert is_valid_tracking_number(carrier, VALID_7DR[:11] + check) is False


def test_7dr_misses_only_single_digit_changes_by_seven():
    # mod 7 sees every single-digit change of the body except a change by exactly 7 (0<->7,
    # 1<->8, 2<->9), because 10 and 7 are coprime.
    body, check = VALID_7DR[:11], VALID_7DR[11]
    missed = [n for n in corruptions(body) if is_7dr(n + check)]
    changes = [abs(int(a) - int(b)) for n in missed for a, b in zip(n, body, strict=True) if a != b]
    assert changes and set(changes) == {7}
    assert all(is_7dr(n + check) is False for n in corruptions(body) if n not in missed)


def test_7dr_rejects_wrong_lengths_and_letters():
    assert is_7dr("12345678901") is False
    assert is_7dr("1234567890134") is False
    assert is_7dr("12345678901A") is False
    assert is_7dr("１２３４５６７８９０１３") is False  # normalise first


def test_normalisation_folds_full_width_digits_hyphens_and_spaces():
    assert normalize_tracking_number("１２３４－５６７８－９０１３") == VALID_7DR
    assert normalize_tracking_number(" 1234 5678 9013 ") == VALID_7DR
    assert normalize_tracking_number("1234-5678-9013") == VALID_7DR
    assert normalize_tracking_number("ｅｅ１２３４５６７８５ｊｐ") == "EE123456785JP"


def test_s10_check_digit_and_corruptions():
    assert s10_check_digit("12345678") == 5
    assert is_s10("EE123456785JP") is True
    assert is_valid_tracking_number(Carrier.JAPANPOST, "EE123456785JP") is True
    missed = [bad for bad in corruptions("EE123456785JP") if is_s10(bad)]
    # The check 5 stands for both 11 - 6 and the folded 11: a change that moves the weighted
    # sum from 6 to 0 (mod 11) keeps the check. Everything else is caught.
    assert len(corruptions("EE123456785JP")) == 81
    assert missed == [
        "EE323456785JP",
        "EE113456785JP",
        "EE127456785JP",
        "EE123156785JP",
        "EE123436785JP",
        "EE123457785JP",
        "EE123456745JP",
    ]
    weights = (8, 6, 4, 2, 3, 5, 9, 7)
    assert all(
        sum(int(d) * w for d, w in zip(m[2:10], weights, strict=True)) % 11 == 0 for m in missed
    )
    assert is_s10("EE123456784JP") is False
    assert is_s10("EE12345678JP") is False
    # 11 - (sum % 11) == 10 -> 0 and == 11 -> 5
    assert s10_check_digit("00000001") == 11 - 7 % 11
    assert s10_check_digit("00000000") == 5
    serial_with_ten = next(
        f"{n:08d}"
        for n in range(1, 10000)
        if 11
        - sum(int(d) * w for d, w in zip(f"{n:08d}", (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11
        == 10
    )
    assert s10_check_digit(serial_with_ten) == 0


def test_carriers_without_check_digit_give_none():
    assert is_valid_tracking_number(Carrier.SEINO, "1234567890") is None
    assert is_valid_tracking_number(Carrier.FUKUYAMA, "12345678901234") is None
    assert is_valid_tracking_number(Carrier.SEINO, "12AB") is False
    assert is_valid_tracking_number(Carrier.OTHER, "anything") is None


def test_tracking_urls_come_from_configuration(settings, monkeypatch):
    assert tracking_url(Carrier.YAMATO, VALID_7DR) == (
        "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number01=123456789013"
    )
    settings.MADOGUCHI_TRACKING_URLS = {"yamato": "https://example.jp/y/{number}"}
    assert tracking_url(Carrier.YAMATO, VALID_7DR) == "https://example.jp/y/123456789013"
    monkeypatch.setenv(
        "MADOGUCHI_TRACKING_URLS", json.dumps({"other": "https://t.example/{number}"})
    )
    assert tracking_url(Carrier.OTHER, "A B") == "https://t.example/A%20B"
    assert tracking_url(Carrier.SAGAWA, "") == ""


def test_carrier_names_from_platforms():
    assert carrier_from_name("Yamato (JA)") == Carrier.YAMATO
    assert carrier_from_name("佐川急便") == Carrier.SAGAWA
    assert carrier_from_name("日本郵便") == Carrier.JAPANPOST
    assert carrier_from_name("1004") == Carrier.SEINO
    assert carrier_from_name("null-company") == Carrier.OTHER
