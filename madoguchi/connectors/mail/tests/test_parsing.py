import base64
import hashlib
import random

import pytest

from madoguchi.connectors.mail.parsing import MAX_PARTS, Defect, parse_mail
from madoguchi.connectors.mail.tests.raw import build

CONTRACT_KEYS = [
    "message_id", "in_reply_to", "references", "from_address", "from_name", "reply_to", "to",
    "cc", "subject", "date", "body_text", "body_html", "attachments", "auto_submitted",
    "is_bounce", "defects",
]  # fmt: skip
ATTACHMENT_KEYS = ["filename", "content_type", "size", "sha256", "content_id", "is_inline"]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))


def kinds(parsed):
    return [defect.kind for defect in parsed.defects]


def test_iso2022jp_mail_with_cp932_extensions():
    raw = build(
        [
            "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>",
            "To: shop@example.jp, =?ISO-2022-JP?B?GyRCRUU5LBsoQg==?= <tenpo@example.jp>",
            "Cc: other@example.jp",
            "Reply-To: reply@example.jp",
            "Subject: =?ISO-2022-JP?B?GyRCLSEtanxiGyhC?=",
            "Date: Fri, 30 May 2025 10:15:00 +0900",
            "Message-ID: <abc.123@example.jp>",
            "In-Reply-To: <prev@shop.example.jp>",
            "References: <root@shop.example.jp>\r\n <prev@shop.example.jp>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=ISO-2022-JP",
            "Content-Transfer-Encoding: 7bit",
        ],
        b"\x1b$B-!-j|b\x1b(B\r\n",
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "①㈱髙"
    assert parsed.from_address == "yamada@example.jp"
    assert parsed.from_name == "山田"
    assert parsed.to == ("shop@example.jp", "tenpo@example.jp")
    assert parsed.cc == ("other@example.jp",)
    assert parsed.reply_to == ("reply@example.jp",)
    assert parsed.body_text == "①㈱髙\n"
    assert parsed.message_id == "abc.123@example.jp"
    assert parsed.in_reply_to == "prev@shop.example.jp"
    assert parsed.references == ("root@shop.example.jp", "prev@shop.example.jp")
    assert parsed.to_json()["date"] == "2025-05-30T10:15:00+09:00"
    assert parsed.defects == ()


def test_to_json_has_exactly_the_contract_keys():
    raw = build(
        ["From: a@example.jp", 'Content-Type: multipart/mixed; boundary="b"'],
        "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: image/png\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(PNG).decode()
        + "\r\n--b--\r\n",
    )
    data = parse_mail(raw).to_json()
    assert list(data) == CONTRACT_KEYS
    assert list(data["attachments"][0]) == ATTACHMENT_KEYS
    assert data["date"] is None and data["message_id"] is None and data["body_html"] is None


def test_shift_jis_labelled_body_with_cp932_characters():
    raw = build(
        [
            "From: a@example.jp",
            "Subject: =?Shift_JIS?B?ko2Vtg==?=",
            "Content-Type: text/plain; charset=shift_jis",
            "Content-Transfer-Encoding: 8bit",
        ],
        "10時～12時 ①番 ㈱".encode("cp932"),
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "注文"
    assert parsed.body_text == "10時～12時 ①番 ㈱"
    assert parsed.defects == ()


def test_mislabelled_iso2022jp_body_holding_shift_jis():
    raw = build(
        ["From: a@example.jp", "Content-Type: text/plain; charset=iso-2022-jp"],
        "お問い合わせ～".encode("cp932"),
    )
    parsed = parse_mail(raw)
    assert parsed.body_text == "お問い合わせ～"
    assert parsed.defects == (
        Defect("body_charset", "1: labelled ISO-2022-JP but holds 8-bit bytes; read as cp932"),
    )


def test_euc_jp_body_and_raw_8bit_subject():
    raw = build(
        [
            b"From: a@example.jp",
            "Subject: 注文について".encode("euc_jp"),
            b"Content-Type: text/plain; charset=EUC-JP",
        ],
        "注文について".encode("euc_jp"),
    )
    parsed = parse_mail(raw)
    assert parsed.body_text == "注文について"
    assert parsed.subject == "注文について"
    assert parsed.defects == (Defect("header_charset", "subject: raw 8-bit header read as euc-jp"),)


def test_8bit_body_without_charset():
    raw = build(["From: a@example.jp", "Content-Type: text/plain"], "注文".encode("cp932"))
    assert parse_mail(raw).body_text == "注文"
    raw = build(["From: a@example.jp"], "注文".encode())
    assert parse_mail(raw).body_text == "注文"


def test_invalid_utf8_body():
    raw = build(
        ["From: a@example.jp", "Content-Type: text/plain; charset=utf-8"], b"ok \xff\xfe end"
    )
    parsed = parse_mail(raw)
    assert parsed.body_text == "ok \ufffd\ufffd end"
    assert parsed.defects == (
        Defect("body_charset", "1: invalid UTF-8 bytes replaced with U+FFFD"),
    )


def test_unknown_charset_body():
    raw = build(
        ["From: a@example.jp", "Content-Type: text/plain; charset=x-unknown"], "注文".encode()
    )
    parsed = parse_mail(raw)
    assert parsed.body_text == "注文"
    assert kinds(parsed) == []  # x-unknown is a known way of saying "no charset"


def test_subject_header_injection_is_one_line():
    raw = build(["From: a@example.jp", "Subject: =?UTF-8?Q?Hi=0ABcc:_x@evil.example?="], "x")
    parsed = parse_mail(raw)
    assert parsed.subject == "Hi Bcc: x@evil.example"
    assert parsed.to == ()


def test_ambiguous_from_gives_no_sender_and_a_defect():
    parsed = parse_mail(build(["From: alice@example.org)<bob@example.org>"], "x"))
    assert parsed.from_address is None
    assert parsed.defects == (
        Defect("address", "from: rejected 'alice@example.org)<bob@example.org>': stray ')'"),
    )


def test_attachment_names_sizes_and_types():
    pdf = b"%PDF-1.4\n" + b"x" * 100
    body = (
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n請求書を送ります\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(pdf).decode() + "\r\n"
        "--b\r\nContent-Type: application/pdf;"
        ' name="=?ISO-2022-JP?B?GyRCQEE1YT1xLSEbKEIucGRm?="\r\n'
        "Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(pdf).decode()
        + "\r\n"
        "--b\r\nContent-Type: image/jpeg\r\n"
        'Content-Disposition: attachment; filename="invoice\u202efdp.exe"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"MZ\x90\x00").decode()
        + "\r\n"
        "--b\r\nContent-Type: text/plain\r\n"
        'Content-Disposition: attachment; filename="../../etc/\u200bpasswd"\r\n'
        "\r\nroot:x:0:0\r\n"
        "--b\r\nContent-Type: image/png\r\nContent-ID: <logo@example.jp>\r\n"
        "Content-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(PNG).decode()
        + "\r\n--b--\r\n"
    )
    raw = build(["From: a@example.jp", 'Content-Type: multipart/mixed; boundary="b"'], body)
    parsed = parse_mail(raw)
    assert parsed.body_text == "請求書を送ります"
    assert [attachment.to_json() for attachment in parsed.attachments] == [
        {
            "filename": "請求書.pdf",
            "content_type": "application/pdf",
            "size": len(pdf),
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "content_id": None,
            "is_inline": False,
        },
        {
            "filename": "請求書①.pdf",
            "content_type": "application/pdf",
            "size": len(pdf),
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "content_id": None,
            "is_inline": False,
        },
        {
            "filename": "invoicefdp.exe",
            "content_type": "application/x-msdownload",
            "size": 4,
            "sha256": hashlib.sha256(b"MZ\x90\x00").hexdigest(),
            "content_id": None,
            "is_inline": False,
        },
        {
            "filename": "passwd",
            "content_type": "text/plain",
            "size": 10,
            "sha256": hashlib.sha256(b"root:x:0:0").hexdigest(),
            "content_id": None,
            "is_inline": False,
        },
        {
            "filename": "attachment-5.png",
            "content_type": "image/png",
            "size": len(PNG),
            "sha256": hashlib.sha256(PNG).hexdigest(),
            "content_id": "logo@example.jp",
            "is_inline": True,
        },
    ]
    assert parsed.attachments[0].content == pdf
    assert parsed.defects == (
        Defect("attachment_type", "1.4: declared image/jpeg, bytes are application/x-msdownload"),
        Defect("attachment_name", "1.4: hidden, bidi or control characters removed"),
        Defect("attachment_name", "1.5: hidden, bidi or control characters removed"),
        Defect("attachment_name", "1.5: path components removed"),
    )


def test_html_only_mail_is_sanitized_and_converted_to_text():
    html = (
        '<p onclick="x()">ご注文<b>ありがとう</b></p><script>alert(1)</script>'
        '<form action="https://evil.example"><input name="card"></form>'
        '<img src="https://tracker.example/p.gif"><img src="cid:logo">'
    )
    raw = build(["From: a@example.jp", "Content-Type: text/html; charset=utf-8"], html)
    parsed = parse_mail(raw)
    assert parsed.body_html == '<p>ご注文<b>ありがとう</b></p><img src="cid:logo">'
    assert parsed.body_text == "ご注文ありがとう"


def test_alternative_prefers_plain_and_keeps_sanitized_html():
    raw = build(
        ["From: a@example.jp", 'Content-Type: multipart/alternative; boundary="a"'],
        "--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nプレーン\r\n"
        "--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>HTML<script>x</script></p>\r\n--a--\r\n",
    )
    parsed = parse_mail(raw)
    assert parsed.body_text == "プレーン"
    assert parsed.body_html == "<p>HTML</p>"
    assert parsed.attachments == ()


def test_format_flowed_is_unwrapped():
    raw = build(
        ["From: a@example.jp", "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes"],
        "ご注文の \r\n件です\r\n> 引用 \r\n> 続き\r\n",
    )
    assert parse_mail(raw).body_text == "ご注文の件です\n> 引用続き\n"


def test_ten_thousand_nested_multiparts_give_a_defect_not_a_crash():
    parts = [
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level, level + 1)
        for level in range(10_000)
    ]
    headers = [
        b"From: a@example.jp",
        b"Subject: deep",
        b"Content-Type: multipart/mixed; boundary=b0",
    ]
    raw = build(headers, b"".join(parts))
    parsed = parse_mail(raw)
    assert parsed.subject == "deep"
    assert parsed.from_address == "a@example.jp"
    assert kinds(parsed) == ["nesting_too_deep"]
    assert parsed.body_text.startswith("--b0\nContent-Type: multipart/mixed; boundary=b1\n")


def test_many_parts_are_capped():
    body = "".join(
        f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(MAX_PARTS + 5)
    )
    raw = build(
        ["From: a@example.jp", 'Content-Type: multipart/mixed; boundary="b"'], body + "--b--"
    )
    parsed = parse_mail(raw)
    assert "too_many_parts" in kinds(parsed)
    assert parsed.body_text.startswith("part 0\npart 1\n")


def test_unterminated_boundary_keeps_the_text():
    raw = build(
        ["From: a@example.jp", 'Content-Type: multipart/mixed; boundary="never"'],
        "--never\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n届いていますか\r\n",
    )
    parsed = parse_mail(raw)
    assert parsed.body_text == "届いていますか"
    assert parsed.defects == (Defect("mime_structure", "1: CloseBoundaryNotFoundDefect"),)


def test_invalid_base64_body():
    raw = build(
        ["From: a@example.jp", "Content-Type: text/plain; charset=utf-8",
         "Content-Transfer-Encoding: base64"],
        "5rOo5paH!!!44Gr\r\n44Gk44GE44Gm=x",
    )  # fmt: skip
    parsed = parse_mail(raw)
    assert parsed.body_text == "注文について"
    assert parsed.defects == (
        Defect("transfer_encoding", "1: invalid base64 length; last character dropped"),
    )


def test_missing_headers_and_bad_date():
    parsed = parse_mail(build(["Subject: hi", "Date: Whenever", "Message-ID: no-brackets@x"], "x"))
    assert parsed.from_address is None
    assert parsed.date is None
    assert parsed.message_id == "no-brackets@x"
    assert parsed.defects == (
        Defect("missing_from", "no From header"),
        Defect("date", "unparseable Date 'Whenever'"),
    )


def test_naive_date_is_read_as_utc():
    parsed = parse_mail(build(["From: a@example.jp", "Date: Fri, 30 May 2025 10:15:00 -0000"], "x"))
    assert parsed.to_json()["date"] == "2025-05-30T10:15:00+00:00"


def test_junk_lines_before_the_headers_are_skipped():
    raw = b"Fro :garbage\r\n" + build(["From: a@example.jp", "Subject: ok"], "body")
    parsed = parse_mail(raw)
    assert parsed.subject == "ok"
    assert parsed.body_text == "body"
    assert Defect("mime_structure", "invalid lines before the headers skipped") in parsed.defects


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_never_raise(seed):
    generator = random.Random(seed)
    header = b"From: a@example.jp\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
    noise = bytes(generator.randrange(256) for _ in range(2000))
    pieces = [header, noise[:500], b"\r\n--x\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n",
              b"Content-Transfer-Encoding: base64\r\n\r\n", noise[500:], b"\r\n--x"]  # fmt: skip
    parsed = parse_mail(b"".join(pieces))
    assert list(parsed.to_json()) == CONTRACT_KEYS


def test_empty_input():
    parsed = parse_mail(b"")
    assert parsed.body_text == ""
    assert parsed.defects == (Defect("missing_from", "no From header"),)


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<div>" * 20_000 + "深い" + "</div>" * 20_000, "HTML nested deeper than 300 elements"),
        ("<b><p>" * 5_000 + "深い", "HTML nested deeper than 300 elements"),
        (
            "".join(f'<a href="https://e.example/{i}">l</a>' for i in range(5_001)) + "深い",
            "more than 5000 links",
        ),
        ("<p>x</p>" * 60_000 + "深い", "more than 50000 HTML tags"),
        ("&amp;" * 210_000 + "深い", "HTML of 1050002 characters exceeds 1000000"),
    ],
)
def test_pathological_html_falls_back_to_text(html, detail):
    raw = build(["From: a@example.jp", "Content-Type: text/html; charset=utf-8"], html)
    parsed = parse_mail(raw)
    assert parsed.body_html is None
    assert parsed.body_text.endswith("深い")
    assert parsed.defects == (Defect("html_too_complex", f"{detail}; the HTML is not shown"),)


def test_mutated_corpus_mail_never_hits_the_catch_all():
    """Truncate, flip bytes and splice MIME syntax into real mail: no `parser_error` defect."""
    from madoguchi.connectors.mail.tests.corpus import mail_files

    originals = [path.read_bytes() for path in mail_files()]
    tokens = [b"=?", b"?=", b'"', b"<", b">", b"(", b"\x1b$B", b"\r\n\r\n", b";", b"*0*=",
              b"utf-8''%", b"--", b"\x00", b"=?iso-2022-jp?B?GyRC?="]  # fmt: skip
    generator = random.Random(7)
    for _ in range(400):
        raw = bytearray(generator.choice(originals))
        operation = generator.randrange(3)
        if operation == 0:
            raw = raw[: generator.randrange(len(raw) + 1)]
        elif operation == 1:
            for _flip in range(generator.randrange(1, 20)):
                raw[generator.randrange(len(raw))] = generator.randrange(256)
        else:
            for _insert in range(generator.randrange(1, 10)):
                position = generator.randrange(len(raw) + 1)
                raw[position:position] = generator.choice(tokens)
        parsed = parse_mail(bytes(raw))
        assert "parser_error" not in kinds(parsed)
