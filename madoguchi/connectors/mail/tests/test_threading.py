"""Subject normalisation and ticket tags (japan-ec.md §2.5)."""

import pytest

from madoguchi.connectors.mail.thread_matching import (
    normalize_subject,
    strip_reply_prefixes,
    ticket_tag_in,
)
from madoguchi.tenancy.models import Shop


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: 注文について", "注文について"),
        ("RE: Re: 注文について", "注文について"),
        ("Ｒｅ：注文について", "注文について"),
        ("返信: 注文について", "注文について"),
        ("転送：注文について", "注文について"),
        ("Fwd: FW: 注文について", "注文について"),
        ("Re[2]: 注文について", "注文について"),
        ("[shop:01234] Re: 注文について", "注文について"),
        ("Re: 注文について [#TEA-12]", "注文について"),
        ("Reply about 注文", "Reply about 注文"),
    ],
)
def test_reply_prefixes_are_stripped(subject, expected):
    assert strip_reply_prefixes(subject) == expected


def test_normalized_subjects_compare_case_and_width_insensitively():
    assert normalize_subject("Re: ＯＲＤＥＲ 1001") == normalize_subject("order 1001")


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("Re: お問い合わせ [#TEA-1234]", 1234),
        ("Re: [#tea-7] お問い合わせ", 7),
        ("［＃ＴＥＡ－５］", 5),
        ("Re: [#CER-9] 他店", None),
        ("Re: #TEA-9", None),
    ],
)
def test_only_this_shops_tag_counts(subject, number):
    assert ticket_tag_in(subject, shop=Shop(ticket_prefix="TEA")) == number
