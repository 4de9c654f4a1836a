"""Acknowledgement rules: who never gets one, and the allowlisted template."""

import pytest

from madoguchi.connectors.mail.autoreply import (
    ack_refusal,
    is_noreply_address,
    render,
)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("noreply@shop.example", True),
        ("no-reply@shop.example", True),
        ("no_reply+bounce@shop.example", True),
        ("donotreply@shop.example", True),
        ("MAILER-DAEMON@mx.example", True),
        ("postmaster@mx.example", True),
        ("hanako@example.com", False),
        ("noriko@example.com", False),
    ],
)
def test_noreply_style_addresses(address, expected):
    assert is_noreply_address(address) is expected


def test_template_fills_only_allowlisted_placeholders():
    text = render(
        "{customer_name} 様 {ticket_reference} {{ settings.SECRET_KEY }} {shop.smtp_password} "
        "{subject.__class__}",
        {
            "customer_name": "花子",
            "shop_name": "山田園",
            "ticket_reference": "#TEA-1",
            "subject": "件名",
        },
    )
    assert text == (
        "花子 様 #TEA-1 {{ settings.SECRET_KEY }} {shop.smtp_password} {subject.__class__}"
    )


@pytest.mark.parametrize(
    ("sender", "is_automated", "is_bounce", "reason"),
    [
        ("hanako@example.com", False, False, ""),
        ("hanako@example.com", True, False, "automated"),
        ("hanako@example.com", False, True, "bounce"),
        ("", False, False, "no usable sender"),
        ("not an address", False, False, "no usable sender"),
        ("no-reply@example.com", False, False, "noreply address"),
    ],
)
@pytest.mark.django_db
def test_ack_refusal_reasons(sender, is_automated, is_bounce, reason):
    assert ack_refusal(sender=sender, is_automated=is_automated, is_bounce=is_bounce) == reason
