"""`core.csv`: formula-safe cells, RFC 4180 lines, UTF-8 with a BOM and CP932 with 〓."""

from __future__ import annotations

import csv
import io

import pytest

from madoguchi.core.csv import (
    BOM,
    CP932,
    REPLACEMENT,
    UTF8,
    content_type,
    csv_bytes,
    csv_text_lines,
    spreadsheet_safe,
)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+81 3", "'+81 3"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("返品=1", "返品=1"),
        ("", ""),
    ],
)
def test_formula_starts_become_text(value: str, safe: str) -> None:
    assert spreadsheet_safe(value) == safe


def test_lines_are_rfc_4180_with_crlf_and_every_cell_safe() -> None:
    lines = list(csv_text_lines(["a", "b"], [["=1+1", 'say "hi", ok'], [None, 3]]))
    assert lines == ["a,b\r\n", '\'=1+1,"say ""hi"", ok"\r\n', ",3\r\n"]


def test_utf8_starts_with_the_bom_once() -> None:
    body = b"".join(csv_bytes(["件名"], [["返品"], ["配送"]], encoding=UTF8))
    assert body.startswith(BOM.encode("utf-8"))
    assert body.count(BOM.encode("utf-8")) == 1
    assert body.decode("utf-8-sig") == "件名\r\n返品\r\n配送\r\n"
    assert content_type(UTF8) == "text/csv; charset=utf-8"


def test_cp932_writes_shift_jis_and_replaces_what_it_cannot_hold() -> None:
    # 𠮷 (outside CP932) and an emoji become 〓; ①, ～ and NEC/IBM kanji (髙) are CP932.
    rows = [["𠮷野家で😀を注文", "①髙～"], ["-danger", "ok"]]
    body = b"".join(csv_bytes(["件名", "メモ"], rows, encoding=CP932))
    assert not body.startswith(b"\xef\xbb\xbf")
    text = body.decode(CP932)
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed == [
        ["件名", "メモ"],
        [f"{REPLACEMENT}野家で{REPLACEMENT}を注文", "①髙～"],
        ["'-danger", "ok"],
    ]
    assert content_type(CP932) == "text/csv; charset=Shift_JIS"


def test_unknown_encodings_are_refused() -> None:
    with pytest.raises(ValueError):
        list(csv_bytes(["a"], [], encoding="latin-1"))
