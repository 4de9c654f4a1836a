import pytest

from madoguchi.connectors.mail.attachments import (
    effective_content_type,
    parse_parameters,
    safe_display_name,
    sniff_content_type,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("請求書.pdf", "請求書.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("\u200b.htaccess", "htaccess"),
        (".ht\u200baccess", "htaccess"),
        ("report\ufeff.pdf", "report.pdf"),
        ("../../app/settings.py", "settings.py"),
        ("..\\..\\x.bat", "x.bat"),
        ("/etc/passwd", "passwd"),
        ("ｃ：／ｗｉｎｄｏｗｓ／ｘ.txt", "ｘ.txt"),
        ("a\x00.pdf", "a.pdf"),
        ("invoice.pdf. . ", "invoice.pdf"),
        ("CON.txt", "_CON.txt"),
        ('what?<is>"this"|*.txt', "what__is__this___.txt"),
        ("ｶﾀｶﾅ\u3000名前.txt", "ｶﾀｶﾅ 名前.txt"),
        ("e\u0301.txt", "\u00e9.txt"),  # NFC
    ],
)
def test_safe_display_names(name, expected):
    assert safe_display_name(name, fallback="attachment-1")[0] == expected


def test_long_names_keep_their_extension():
    name, problems = safe_display_name("あ" * 300 + ".pdf", fallback="attachment-1")
    assert name == "あ" * 146 + ".pdf"
    assert problems == ["name shortened"]


def test_empty_or_hidden_only_names_fall_back():
    assert safe_display_name(None, fallback="attachment-2.png") == ("attachment-2.png", [])
    name, problems = safe_display_name("\u202e\u200b ..", fallback="attachment-3")
    assert name == "attachment-3"
    assert problems[-1] == "unusable name '\\u202e\\u200b ..'"


def test_rfc2231_utf8_filename():
    parsed = parse_parameters("attachment; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf")
    assert parsed.value == "attachment"
    assert parsed.params["filename"] == "請求書.pdf"


def test_rfc2231_continuations_split_inside_a_character():
    parsed = parse_parameters(
        "attachment;\r\n filename*0*=utf-8''%E8%AB;\r\n filename*1*=%8B%E6%B1%82%E6%9B%B8;"
        '\r\n filename*2=".pdf"'
    )
    assert parsed.params["filename"] == "請求書.pdf"


def test_rfc2231_shift_jis_filename():
    parsed = parse_parameters("attachment; filename*=shift_jis'ja'%90%BF%8B%81%8F%91%87%40.pdf")
    assert parsed.params["filename"] == "請求書①.pdf"


def test_rfc2047_iso2022jp_filename_with_cp932_characters():
    # 請求書①.pdf in ISO-2022-JP with the NEC circled one (0x2D21).
    encoded = "=?ISO-2022-JP?B?GyRCQEE1YT1xLSEbKEIucGRm?="
    parsed = parse_parameters(f'application/pdf; name="{encoded}"')
    assert parsed.value == "application/pdf"
    assert parsed.params["name"] == "請求書①.pdf"


def test_raw_8bit_filename():
    raw = 'attachment; filename="請求書.pdf"'.encode("cp932").decode("ascii", "surrogateescape")
    assert parse_parameters(raw).params["filename"] == "請求書.pdf"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (PDF, "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"MZ\x90\x00", "application/x-msdownload"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
        (b"  <!DOCTYPE html><html>", "text/html"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">', "image/svg+xml"),
        (b"just some text", None),
    ],
)
def test_sniffing(data, expected):
    assert sniff_content_type(data) == expected


def test_declared_type_vs_bytes():
    assert effective_content_type("application/pdf", PDF) == ("application/pdf", None)
    assert effective_content_type("application/octet-stream", PNG) == ("image/png", None)
    assert effective_content_type("image/jpeg", b"<html><script>") == (
        "text/html",
        "declared image/jpeg, bytes are text/html",
    )
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert effective_content_type(docx, b"PK\x03\x04rest") == (docx, None)
    assert effective_content_type("text/plain", b"hello") == ("text/plain", None)
