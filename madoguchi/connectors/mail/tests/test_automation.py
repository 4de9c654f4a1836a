import pytest

from madoguchi.connectors.mail.parsing import parse_bounce, parse_mail
from madoguchi.connectors.mail.tests.raw import build

HUMAN = [
    "From: Taro <taro@example.jp>",
    "To: shop@example.jp",
    "Subject: =?UTF-8?B?5rOo5paH?=",
    "Message-ID: <m1@example.jp>",
]


@pytest.mark.parametrize(
    ("header", "is_automated"),
    [
        (None, False),
        ("Auto-Submitted: no", False),
        ("Auto-Submitted: No (comment)", False),
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: auto-generated", True),
        ("Auto-Submitted: auto-notified", True),
        ("Precedence: bulk", True),
        ("Precedence: list", True),
        ("Precedence: junk", True),
        ("Precedence: auto_reply", True),
        ("Precedence: first-class", False),
        ("X-Auto-Response-Suppress: All", True),
        ("X-Auto-Response-Suppress: OOF", True),
        ("X-Auto-Response-Suppress: DR, RN", True),
        ("X-Auto-Response-Suppress: RN", False),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: yes", True),
        ("X-Loop: shop@example.jp", True),
        ("List-Id: <news.example.jp>", True),
        ("List-Unsubscribe: <mailto:leave@example.jp>", True),
        ("Return-Path: <>", True),
        ("Return-Path: <taro@example.jp>", False),
    ],
)
def test_auto_submitted_matrix(header, is_automated):
    headers = [*HUMAN, header] if header else HUMAN
    parsed = parse_mail(build(headers, "本文"))
    assert parsed.auto_submitted is is_automated
    assert parsed.is_bounce is False


def dsn(status: str, action: str) -> bytes:
    return build(
        [
            "Return-Path: <>",
            "From: MAILER-DAEMON@mx.example.jp (Mail Delivery System)",
            "To: support@shop.example.jp",
            "Subject: Undelivered Mail Returned to Sender",
            "Auto-Submitted: auto-replied",
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
        ],
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail system\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.jp\r\n\r\n"
        "Final-Recipient: rfc822; Taro@Example.JP\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: support@shop.example.jp\r\nMessage-ID: <reply-1@shop.example.jp>\r\n"
        "--B--\r\n",
    )


def test_dsn_permanent_failure():
    raw = dsn("5.1.1", "failed")
    parsed = parse_mail(raw)
    assert parsed.is_bounce is True
    assert parsed.auto_submitted is True
    report = parse_bounce(raw)
    assert report is not None
    assert report.original_message_id == "reply-1@shop.example.jp"
    assert report.is_standard is True
    assert report.is_permanent is True
    [recipient] = report.recipients
    assert (recipient.recipient, recipient.action, recipient.status) == (
        "taro@example.jp",
        "failed",
        "5.1.1",
    )
    assert recipient.diagnostic == "smtp; 550 5.1.1 User unknown"


def test_dsn_transient_failure_is_not_permanent():
    report = parse_bounce(dsn("4.4.1", "delayed"))
    assert report is not None
    assert report.is_permanent is False
    assert [(r.action, r.status, r.is_permanent) for r in report.recipients] == [
        ("delayed", "4.4.1", False)
    ]


def test_human_mail_has_no_bounce_report():
    assert parse_bounce(build(HUMAN, "本文")) is None


def test_japanese_non_standard_bounce():
    subject = "=?ISO-2022-JP?B?GyRCQXc/LiRHJC0kXiQ7JHMkRyQ3JD8bKEI=?="  # 送信できませんでした
    raw = build(
        [
            "From: postmaster@mail.example.ne.jp",
            "To: support@shop.example.jp",
            f"Subject: {subject}",
            "Content-Type: text/plain; charset=ISO-2022-JP",
        ],
        "以下のアドレスに送信できませんでした。\r\n<hanako@example.ne.jp>\r\n"
        "550 5.1.1 unknown user\r\n".encode("iso2022_jp"),
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "送信できませんでした"
    assert parsed.is_bounce is True
    assert parsed.auto_submitted is True
    report = parse_bounce(raw)
    assert report is not None
    assert report.is_standard is False
    assert [(r.recipient, r.status) for r in report.recipients] == [
        ("hanako@example.ne.jp", "5.1.1")
    ]


def test_customer_subject_that_sounds_like_a_bounce_is_not_one():
    raw = build(
        [*HUMAN[:2], "Subject: =?UTF-8?B?5rOo5paH44GM6YCB5L+h44Gn44GN44G+44Gb44KT44Gn44GX44Gf?="],
        "x",
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "注文が送信できませんでした"
    assert parsed.is_bounce is False
    assert parsed.auto_submitted is False


def test_japanese_bounce_subject_with_null_return_path():
    raw = build(
        ["Return-Path: <>", "From: system@mail.example.ne.jp", "To: a@shop.example.jp",
         "Subject: =?UTF-8?B?6YWN5L+h5LiN6IO9?="],  # 配信不能
        "x",
    )  # fmt: skip
    assert parse_mail(raw).is_bounce is True
