from madoguchi.connectors.mail.charsets import (
    decode_bytes,
    decode_encoded_words,
    decode_header_value,
    jis_to_sjis,
    raw_header_text,
    sniff_decode,
)

# ①㈱髙 in ISO-2022-JP as Windows/iPhone write it (CP50221): NEC row 13 (0x2D21, 0x2D6A) and
# the NEC-selected IBM extension row 92 (0x7C62). Strict ISO-2022-JP has none of them.
CIRCLED_KABUSHIKI_TAKA = b"\x1b$B-!-j|b\x1b(B"


def test_iso2022jp_with_nec_and_ibm_extensions():
    decoded = decode_bytes(b"\x1b$B%F%9%H\x1b(B " + CIRCLED_KABUSHIKI_TAKA, "ISO-2022-JP")
    assert decoded.text == "テスト ①㈱髙"
    assert decoded.problems == []


def test_jis_to_sjis_conversion_matches_cp932():
    converted, problems = jis_to_sjis(CIRCLED_KABUSHIKI_TAKA)
    assert converted == "①㈱髙".encode("cp932") == b"\x87\x40\x87\x8a\xee\xe0"
    assert problems == []


def test_iso2022jp_half_width_katakana_and_greek():
    # jpmobile iphone-jis.eml: "(=ﾟωﾟ)ﾉ" with ESC ( I half-width katakana.
    raw = b"(=\x1b(I_\x1b(B\x1b$B&X\x1b(B\x1b(I_\x1b(B)\x1b(II\x1b(B"
    assert decode_bytes(raw, "iso-2022-jp").text == "(=ﾟωﾟ)ﾉ"


def test_iso2022jp_wave_dash_read_as_cp932_form():
    # JIS 0x2141 is WAVE DASH in Python's table; Windows (and our CP932 fallback) read ～.
    assert decode_bytes(b"\x1b$B!A\x1b(B", "iso-2022-jp").text == "～"
    assert decode_bytes(b"\x1b$B!A-!\x1b(B", "iso-2022-jp").text == "～①"


def test_shift_jis_label_is_read_as_cp932():
    data = "～①㈱髙﨑 注文".encode("cp932")
    decoded = decode_bytes(data, "Shift_JIS")
    assert decoded.text == "～①㈱髙﨑 注文"
    assert decoded.charset == "cp932"
    assert decode_bytes(data, "windows-31j").text == "～①㈱髙﨑 注文"
    assert decode_bytes(data, '"x-sjis"').text == "～①㈱髙﨑 注文"


def test_shift_jis_user_defined_area_maps_to_private_use():
    # Carrier emoji: 0xF89F is docomo's sun, U+E63E in docomo's and Windows' PUA mapping.
    decoded = decode_bytes(b"\x96\x7b\x95\xb6\xf8\x9f\xf0\x40\xf9\xfc", "shift_jis")
    assert decoded.text == "本文\ue63e\ue000\ue757"
    assert decoded.problems == []


def test_shift_jis_broken_byte_is_replaced_only_there():
    decoded = decode_bytes(b"\x92\x8d\x95\xb6\x81", "shift_jis")  # truncated lead byte
    assert decoded.text == "注文\ufffd"
    assert decoded.problems == ["invalid cp932 bytes replaced with U+FFFD"]


def test_iso2022jp_label_on_shift_jis_bytes_is_detected():
    decoded = decode_bytes("ツール".encode("cp932"), "iso-2022-jp")
    assert decoded.text == "ツール"
    assert decoded.charset == "cp932"
    assert decoded.problems == ["labelled ISO-2022-JP but holds 8-bit bytes; read as cp932"]


def test_iso2022jp_label_on_utf8_bytes_is_detected():
    decoded = decode_bytes("注文について".encode(), "iso-2022-jp")
    assert decoded.text == "注文について"
    assert decoded.charset == "utf-8"


def test_euc_jp():
    assert decode_bytes("注文について".encode("euc_jp"), "EUC-JP").text == "注文について"
    # CP51932: NEC row 13 inside EUC-JP (0xADA1 is ①).
    assert decode_bytes(b"\xc3\xed\xca\xb8\xad\xa1", "euc-jp").text == "注文①"


def test_missing_charset_is_sniffed():
    assert decode_bytes("注文について".encode(), None).text == "注文について"
    assert decode_bytes("注文について".encode("cp932"), None).text == "注文について"
    assert decode_bytes("注文について".encode("euc_jp"), None).text == "注文について"
    assert decode_bytes(b"\x1b$B%F%9%H\x1b(B", None).text == "テスト"
    assert decode_bytes(b"plain", "us-ascii").text == "plain"


def test_us_ascii_label_on_8bit_bytes_is_sniffed():
    assert decode_bytes("注文".encode("cp932"), "us-ascii").text == "注文"


def test_unknown_charset_is_sniffed_with_a_problem():
    decoded = decode_bytes("注文".encode(), "x-unknown-thing")
    assert decoded.text == "注文"
    assert decoded.problems == ["unknown charset 'x-unknown-thing'; read as utf-8"]


def test_invalid_utf8_is_replaced_with_a_problem():
    decoded = decode_bytes(b"caf\xc3\xa9 \xe6\xb3", "utf-8")
    assert decoded.text == "café \ufffd"
    assert decoded.problems == ["invalid UTF-8 bytes replaced with U+FFFD"]


def test_sniff_keeps_mostly_valid_utf8_as_utf8():
    decoded = sniff_decode("あいうえお注文について".encode() + b"\xe3\x81")
    assert decoded.charset == "utf-8"
    assert decoded.text == "あいうえお注文について\ufffd"


def test_latin1_label_reads_windows_1252():
    assert decode_bytes(b"\x93quoted\x94 caf\xe9", "iso-8859-1").text == "\u201cquoted\u201d café"


def test_encoded_words_iso2022jp_with_circled_number():
    # jpmobile iphone-circled-numbers-in-jis.eml: policy.default leaves this undecoded.
    assert decode_header_value("=?iso-2022-jp?B?GyRCJUYlOSVILSEbKEI=?=").text == "テスト①"


def test_encoded_word_labelled_iso2022jp_holding_shift_jis():
    assert decode_header_value("=?ISO-2022-JP?B?g2OBW4OL?=").text == "ツール"


def test_adjacent_encoded_words_are_joined_before_decoding():
    # A multi-byte character split across two words ("注" = E6 B3 A8).
    assert decode_encoded_words("=?UTF-8?Q?=E6=B3?= =?UTF-8?Q?=A8=E6=96=87?=").text == "注文"
    assert decode_encoded_words("=?UTF-8?B?5rOo?=\r\n =?UTF-8?B?5paH?= x").text == "注文 x"


def test_encoded_word_with_language_and_lowercase_q():
    assert decode_encoded_words("=?utf-8*ja?q?=E6=B3=A8=E6=96=87?=").text == "注文"


def test_header_injection_in_encoded_word_has_no_line_break():
    decoded = decode_header_value("=?UTF-8?Q?Hi=0ABcc:_x@evil.example?=")
    assert decoded.text == "Hi Bcc: x@evil.example"
    assert "\n" not in decoded.text and "\r" not in decoded.text


def test_raw_8bit_header_bytes_are_decoded():
    # Values from msg.raw_items() carry 8-bit bytes as surrogate escapes.
    raw_sjis = "お問い合わせ".encode("cp932").decode("ascii", "surrogateescape")
    decoded = raw_header_text(raw_sjis)
    assert decoded.text == "お問い合わせ"
    assert decoded.problems == ["raw 8-bit header read as cp932"]
    raw_utf8 = "お問い合わせ".encode().decode("ascii", "surrogateescape")
    assert decode_header_value(raw_utf8).text == "お問い合わせ"


def test_folded_header_is_unfolded():
    assert decode_header_value("=?UTF-8?B?5rOo5paH?=\r\n =?UTF-8?B?5rOo5paH?=").text == "注文注文"
    assert decode_header_value("long\r\n\tsubject").text == "long\tsubject".replace("\t", " ")


def test_invalid_base64_in_encoded_word_is_repaired():
    decoded = decode_header_value("=?UTF-8?B?5rOo5paH?= =?UTF-8?B?5rOo5pa?=")
    assert decoded.text == "注文注\ufffd"


def test_labels_that_are_no_mail_charset_are_sniffed():
    for label in ("base64", "rot13", "idna", "unicode_escape", "undefined", "zlib"):
        decoded = decode_bytes("注文".encode(), label)
        assert decoded.text == "注文"
        assert decoded.problems == [f"unusable charset {label!r}"]
    decoded = decode_bytes("注文".encode(), "utf\x00-8")
    assert decoded.text == "注文"
    assert decoded.problems == ["unknown charset 'utf\\x00-8'; read as utf-8"]
