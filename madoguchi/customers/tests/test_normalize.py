"""Contact values are found however they were typed."""

import pytest

from madoguchi.customers.normalize import normalize_email, normalize_identity, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("090-1234-5678", "09012345678"),
        ("０９０－１２３４－５６７８", "09012345678"),  # full-width digits and hyphens
        ("０９０ー１２３４ー５６７８", "09012345678"),  # katakana long vowel typed as hyphen
        ("(03) 1234-5678", "0312345678"),
        ("03(1234)5678", "0312345678"),
        ("+81 90-1234-5678", "09012345678"),
        ("+81-3-1234-5678", "0312345678"),
        ("＋８１ ９０ １２３４ ５６７８", "09012345678"),
        ("+81 (0)90-1234-5678", "09012345678"),  # the trunk 0 written in brackets
        ("81-90-1234-5678", "09012345678"),
        ("0120-123-456", "0120123456"),
        ("  ", ""),
    ],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Taro.Yamada@Example.JP", "taro.yamada@example.jp"),
        ("  taro@example.jp \n", "taro@example.jp"),
        ("ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ", "taro@example.jp"),  # full-width (NFKC)
        ("ｔａｒｏ@example.jp", "taro@example.jp"),
    ],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


def test_normalize_identity_by_kind():
    assert normalize_identity("email", " A@B.JP ") == "a@b.jp"
    assert normalize_identity("phone", "03-1234-5678") == "0312345678"
    assert normalize_identity("line", " U4af4980629 ") == "U4af4980629"  # LINE ids keep case
