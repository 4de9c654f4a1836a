"""Issue #18, decoding: mail from outside Japan decoded as declared, nothing dropped, names kept.

Every sample is built here as raw bytes, after the real-world failures the issue lists
(GB2312 forwards, German shop mail in Latin-1, broken address headers, mbox exports).
"""

import base64

import pytest

from madoguchi.connectors.mail.charsets import decode_bytes, sniff_decode
from madoguchi.connectors.mail.parsing import parse_mail
from madoguchi.connectors.mail.tests.raw import build

GB_BODY = "机房环境法规"
GB_SUBJECT = "转发：整体提升方案"
GIF = base64.b64encode(b"GIF89a" + bytes(20)).decode()


def multipart(parts: list[tuple[list[bytes], bytes]], *, headers: list[bytes]) -> bytes:
    body = b""
    for part_headers, content in parts:
        body += b"--b\r\n" + b"\r\n".join(part_headers) + b"\r\n\r\n" + content + b"\r\n"
    body += b"--b--\r\n"
    return build(
        [*headers, b"MIME-Version: 1.0", b"Content-Type: multipart/mixed; boundary=b"], body
    )


# --- declared charsets win -------------------------------------------------------------------


def test_gb2312_subject_body_and_raw_file_name_are_read_as_declared():
    gb_name = f"{GB_BODY}.doc".encode("gb2312")
    raw = multipart(
        [
            ([b"Content-Type: text/plain; charset=gb2312"], GB_BODY.encode("gb2312")),
            (
                [
                    b'Content-Type: application/msword; name="' + gb_name + b'"',
                    b'Content-Disposition: attachment; filename="' + gb_name + b'"',
                ],
                b"data",
            ),
        ],
        headers=[b"From: li@example.cn", b"Subject: " + GB_SUBJECT.encode("gb2312")],
    )
    parsed = parse_mail(raw)
    assert parsed.subject == GB_SUBJECT
    assert parsed.body_text == GB_BODY
    assert [attachment.filename for attachment in parsed.attachments] == [f"{GB_BODY}.doc"]


def test_gb2312_encoded_word_and_rfc2231_name():
    subject = base64.b64encode(GB_SUBJECT.encode("gb2312")).decode()
    quoted = "".join(f"%{byte:02X}" for byte in "机房.jpg".encode("gb2312"))
    raw = multipart(
        [
            ([b"Content-Type: text/plain; charset=GBK"], GB_BODY.encode("gbk")),
            (
                [
                    b"Content-Type: image/gif",
                    b"Content-Transfer-Encoding: base64",
                    f"Content-Disposition: attachment; filename*0*=gb2312''{quoted[:9]};\r\n"
                    f" filename*1*={quoted[9:]}".encode(),
                ],
                GIF.encode(),
            ),
        ],
        headers=[b"From: li@example.cn", f"Subject: =?GB2312?B?{subject}?=".encode()],
    )
    parsed = parse_mail(raw)
    assert (parsed.subject, parsed.body_text) == (GB_SUBJECT, GB_BODY)
    assert [attachment.filename for attachment in parsed.attachments] == ["机房.jpg"]


def test_latin1_file_name_address_and_subject_are_not_read_as_cp932():
    raw = multipart(
        [
            ([b"Content-Type: text/plain; charset=iso-8859-1"], "Grüße".encode("latin-1")),
            (
                [
                    b"Content-Type: application/pdf",
                    b'Content-Disposition: attachment; filename="Hofj\xe4geralle.pdf"',
                ],
                b"%PDF-1.4",
            ),
        ],
        headers=[
            b"From: K. G\xfcnther <k.g\xfcnther@example.de>",
            b'To: "M\xfcller, Hans" <h@example.de>',
            b"Subject: Forex Platte ohne W\xf6lbung",
        ],
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "Forex Platte ohne Wölbung"
    assert (parsed.from_name, parsed.from_address) == ("K. Günther", "k.günther@example.de")
    assert parsed.to == ("h@example.de",)
    assert parsed.body_text == "Grüße"
    assert [attachment.filename for attachment in parsed.attachments] == ["Hofjägeralle.pdf"]


def test_undeclared_latin1_is_detected_not_read_as_japanese():
    raw = build(
        [b"From: k.g\xfcnther@example.de", b"Subject: Forex Platte ohne W\xf6lbung"],
        b"Gr\xfc\xdfe aus der Hofj\xe4geralle\r\n",
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "Forex Platte ohne Wölbung"
    assert parsed.from_address == "k.günther@example.de"
    assert parsed.body_text == "Grüße aus der Hofjägeralle\n"


@pytest.mark.parametrize(
    ("data", "text", "charset"),
    [
        ("ご注文について①".encode("cp932"), "ご注文について①", "cp932"),
        ("髙橋".encode("cp932"), "髙橋", "cp932"),
        ("配送日を10時～12時に".encode("cp932"), "配送日を10時～12時に", "cp932"),
        ("ご注文について".encode("euc_jp"), "ご注文について", "euc-jp"),
        ("Bestellübersicht März".encode("latin-1"), "Bestellübersicht März", "cp1252"),
    ],
)
def test_undeclared_bytes_are_guessed_among_japanese_and_western(data, text, charset):
    decoded = sniff_decode(data)
    assert (decoded.text, decoded.charset) == (text, charset)


def test_a_declared_charset_that_decodes_cleanly_beats_the_guess():
    # These GB2312 bytes are also valid EUC-JP ("字型桟廠隈号"): the declaration decides.
    data = GB_BODY.encode("gb2312")
    assert data.decode("euc_jp") == "字型桟廠隈号"
    assert decode_bytes(data, "gb2312").text == GB_BODY
    assert sniff_decode(data, "gb2312").text == GB_BODY


def test_japanese_mislabelled_as_latin1_or_utf8_is_still_read_as_japanese():
    data = "ご注文について".encode("cp932")
    assert decode_bytes(data, "iso-8859-1").text == "ご注文について"
    assert decode_bytes(data, "utf-8").text == "ご注文について"


def test_japanese_mail_is_unchanged():
    raw = build(
        [
            b"From: yamada@example.jp",
            b"Subject: =?ISO-2022-JP?B?GyRCLSEtanxiGyhC?=",
            b"Content-Type: text/plain; charset=ISO-2022-JP",
        ],
        b"\x1b$B-!-j|b\x1b(B\r\n",
    )
    parsed = parse_mail(raw)
    assert (parsed.subject, parsed.body_text) == ("①㈱髙", "①㈱髙\n")
    raw_sjis = build(
        [b"From: yamada@example.jp", b"Subject: " + "ご注文①".encode("cp932")],
        "髙橋です".encode("cp932"),
    )
    parsed = parse_mail(raw_sjis)
    assert (parsed.subject, parsed.body_text) == ("ご注文①", "髙橋です")


# --- nothing is dropped ----------------------------------------------------------------------


def test_undecodable_bytes_become_replacement_characters():
    decoded = decode_bytes(b"W\xf6lbung \xff\xfe ok", "utf-8")
    assert decoded.text == "W\ufffdlbung \ufffd\ufffd ok"
    decoded = decode_bytes(b"abc \x81 def", "windows-1252")
    assert decoded.text == "abc \ufffd def"


# --- attachment names ------------------------------------------------------------------------


def test_attachment_names_come_from_disposition_type_name_subject_or_a_generic_name():
    inner = build(
        [
            b"From: a@example.com",
            b"Subject: =?UTF-8?B?" + base64.b64encode("ご注文".encode()) + b"?=",
        ],
        b"hello",
    )
    raw = multipart(
        [
            ([b"Content-Type: text/plain"], b"hi"),
            ([b'Content-Type: image/gif; name="image.gif"', b"Content-Transfer-Encoding: base64"],
             GIF.encode()),
            ([b"Content-Type: image/gif;\r\n\tname=image000.gif", b"Content-ID: <i@x>",
              b"Content-Transfer-Encoding: base64"], GIF.encode()),
            ([b"Content-Type: image/gif; name=typename.gif",
              b'Content-Disposition: attachment; filename=""',
              b"Content-Transfer-Encoding: base64"], GIF.encode()),
            ([b"Content-Type: message/rfc822"], inner),
            ([b"Content-Type: message/rfc822"], build([b"From: a@example.com"], b"x")),
            ([b"Content-Type: application/pdf"], b"%PDF-1.4"),
            ([b'Content-Type: application/pdf; name="=?UTF-8?Q?Bestell=C3=BCbersicht M=C3=A4rz'
              b'.pdf?="'], b"%PDF-1.4"),
        ],
        headers=[b"From: a@example.com", b"Subject: names"],
    )  # fmt: skip
    parsed = parse_mail(raw)
    assert [attachment.filename for attachment in parsed.attachments] == [
        "image.gif",
        "image000.gif",
        "typename.gif",
        "ご注文.eml",
        "attachment-5.eml",
        "attachment-6.pdf",
        "Bestellübersicht März.pdf",
    ]


def test_digest_parts_are_attached_messages():
    raw = build(
        [b"From: list@example.com", b"Subject: digest", b"MIME-Version: 1.0",
         b"Content-Type: multipart/digest; boundary=d"],
        b"--d\r\n\r\nFrom: a@example.com\r\nSubject: my opinion\r\n\r\nbody\r\n--d--\r\n",
    )  # fmt: skip
    parsed = parse_mail(raw)
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("my opinion.eml", "message/rfc822")
    ]


# --- malformed headers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "name", "address"),
    [
        (b"John Smith john@example.com", "John Smith", "john@example.com"),
        (b'"Smith, John" <john@example.com>.', "Smith, John", "john@example.com"),
        (b"john@example.com.", None, "john@example.com"),
        (b"John <john smith@example.com>", "John", '"john smith"@example.com'),
        (b'"John Smith <john@example.com>', "John Smith", "john@example.com"),
        (b"John Smith <john@example.com", "John Smith", "john@example.com"),
        (b"=?UTF-8?Q? Personal=C3=A4nderung?= <hr@example.de>", "Personaländerung",
         "hr@example.de"),
    ],
)  # fmt: skip
def test_malformed_senders_are_recovered(header, name, address):
    parsed = parse_mail(build([b"From: " + header, b"To: " + header, b"Subject: x"], b"x"))
    assert (parsed.from_name, parsed.from_address) == (name, address)
    assert parsed.to == (address,)


def test_two_mailboxes_in_one_broken_address_stay_rejected():
    parsed = parse_mail(build([b"From: alice@example.org)<bob@example.org>"], b"x"))
    assert parsed.from_address is None
    assert [defect.kind for defect in parsed.defects] == ["address"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (b"=?UTF-8?Q? Personal=C3=A4nderung?=", "Personaländerung"),
        (b"=?us-ascii?Q?ABC / 123?=", "ABC / 123"),
        (b'=?"utf-8"?B?' + base64.b64encode("ご注文".encode()) + b"?=", "ご注文"),
        (b"=?x-unknown?Q?Gr=FC=DFe?=", "Grüße"),
    ],
)
def test_broken_encoded_words_are_decoded(subject, expected):
    assert parse_mail(build([b"From: a@example.com", b"Subject: " + subject], b"x")).subject == (
        expected
    )


@pytest.mark.parametrize(
    "prefix",
    [
        b"From hans@example.de Mon Jan  1 10:00:00 2024\r\n",
        b">From hans@example.de Mon Jan  1 10:00:00 2024\r\n",
        b"garbage line\r\n",
        b"\r\n",
        b"\xef\xbb\xbf",
        b" \r\n\r\n",
    ],
)
def test_lines_before_the_headers_do_not_empty_the_mail(prefix):
    raw = prefix + build(
        [b"From: Hans <hans@example.de>", b"To: shop@example.jp", b"Subject: Hallo"], b"Body\r\n"
    )
    parsed = parse_mail(raw)
    assert (parsed.from_address, parsed.to, parsed.subject, parsed.body_text) == (
        "hans@example.de",
        ("shop@example.jp",),
        "Hallo",
        "Body\n",
    )


def test_a_japanese_declaration_leaves_raw_headers_to_the_japanese_sniffing():
    raw = build(
        [
            b"From: yamada@example.jp",
            b"Subject: " + "ご注文について".encode("euc_jp"),
            b"Content-Type: text/plain; charset=Shift_JIS",
        ],
        "髙橋です".encode("cp932"),
    )
    parsed = parse_mail(raw)
    assert (parsed.subject, parsed.body_text) == ("ご注文について", "髙橋です")


def test_a_folded_quoted_boundary_is_unfolded():
    # Stalwart's thirdparty/012 sample: boundary="foo<CRLF> bar" delimits with "--foo bar".
    raw = build(
        [b"From: a@example.com", b"Subject: s", b"MIME-Version: 1.0",
         b'Content-Type: multipart/mixed; boundary="foo\r\n bar"'],
        b"--foo bar\r\nContent-Type: text/plain\r\n\r\nhello\r\n--foo bar\r\n"
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n"
        b"\r\n%PDF-1.4\r\n--foo bar--\r\n",
    )  # fmt: skip
    parsed = parse_mail(raw)
    assert parsed.body_text == "hello"
    assert [attachment.filename for attachment in parsed.attachments] == ["a.pdf"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (b"=?utf-8?Q?Gr\xc3\xbc=C3=9Fe?=", "Grüße"),
        (b"=?iso-8859-1?Q?Gr\xfc=DFe?=", "Grüße"),
    ],
)
def test_raw_8bit_bytes_inside_an_encoded_word_keep_the_mail(subject, expected):
    parsed = parse_mail(build([b"From: a@example.com", b"Subject: " + subject], b"x"))
    assert (parsed.subject, parsed.from_address) == (expected, "a@example.com")


@pytest.mark.parametrize(
    ("header", "addresses"),
    [
        (b"a@example.com, John Smith john@example.com", ("a@example.com", "john@example.com")),
        (b"a@example.com; b@example.com", ("a@example.com", "b@example.com")),
        (b'"Smith, John <john@example.com>, b@example.com', ("john@example.com", "b@example.com")),
        (b"Team: a@example.com, b@example.com;", ("a@example.com", "b@example.com")),
    ],
)
def test_recipient_lists_with_one_broken_address_keep_the_others(header, addresses):
    assert parse_mail(build([b"From: x@example.com", b"To: " + header], b"x")).to == addresses
