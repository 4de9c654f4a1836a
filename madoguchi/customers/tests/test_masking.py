"""Masked contacts: what a list or a viewer without the right sees."""

import pytest

from madoguchi.customers.masking import (
    mask_address,
    mask_contact,
    mask_email,
    mask_phone,
    mask_postal_code,
)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("090-1234-5678", "090-****-5678"),
        ("03-1234-5678", "03-****-5678"),
        ("+81 90-1234-5678", "+81 90-****-5678"),
        ("(03) 1234 5678", "(03) **** 5678"),
        ("０９０－１２３４－５６７８", "０９０－****－５６７８"),
        ("09012345678", "090****5678"),
        ("5601", "**01"),
        ("", ""),
    ],
)
def test_mask_phone(number, masked):
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("渋谷区神宮前1-1-1", "渋谷区***"),
        ("横浜市中区山下町1", "横浜市***"),
        ("西多摩郡奥多摩町氷川1", "西多摩郡奥多摩町***"),
        ("神宮前1-1-1", "***"),
        ("", ""),
    ],
)
def test_mask_address(address, masked):
    assert mask_address(address) == masked


def test_mask_email_postal_code_and_identifiers():
    assert mask_email("Taro@Example.jp") == "T***@Example.jp"
    assert mask_email("no-at-sign") == "no***"
    assert mask_postal_code("150-0001") == "150-****"
    assert mask_postal_code("") == ""
    assert mask_contact("line", "U4af4980629") == "U4***"
    assert mask_contact("email", "a@b.jp") == "a***@b.jp"
