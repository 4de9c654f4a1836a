import datetime as dt

import pytest

from madoguchi.commerce.banking import bank_csv, zengin
from madoguchi.commerce.deposits import deposits_import_csv, deposits_import_zengin
from madoguchi.commerce.models import Deposit, DepositImport
from madoguchi.tenancy.scoping import in_shop

NOV = dt.date(2026, 11, 2)
TRANSFERS = [
    zengin.TransferToWrite("1", dt.date(2026, 11, 1), 5400, "ﾔﾏﾀﾞ ﾀﾛｳ", "ﾐｽﾞﾎ"),
    zengin.TransferToWrite("2", dt.date(2026, 11, 2), 3130, "10001ｻﾄｳ ﾕｳｷ"),
    zengin.TransferToWrite("3", dt.date(2026, 11, 2), 999, "ｶ)ﾄﾘｹｼ", is_cancellation=True),
]


@pytest.mark.parametrize("line_end", [b"", b"\r\n"])
def test_zengin_file_with_and_without_crlf(line_end):
    data = zengin.build(created_on=NOV, transfers=TRANSFERS, line_end=line_end)
    assert len(data) == 6 * (200 + len(line_end))
    parsed = zengin.parse(data, received_on=dt.date(2026, 11, 3))
    assert parsed.header.created_on == NOV
    assert parsed.header.account_name == "ｶ)ﾔﾏﾀﾞｴﾝ"
    assert [(t.reference, t.booked_on, t.amount, t.remitter_name) for t in parsed.transfers] == [
        ("000001", dt.date(2026, 11, 1), 5400, "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("000002", dt.date(2026, 11, 2), 3130, "10001ｻﾄｳ ﾕｳｷ"),
        ("000003", dt.date(2026, 11, 2), 999, "ｶ)ﾄﾘｹｼ"),
    ]
    assert [t.is_cancellation for t in parsed.transfers] == [False, False, True]
    assert parsed.transfers[0].sending_bank_name == "ﾐｽﾞﾎ"


def test_zengin_fields_are_sliced_as_bytes():
    # A double-byte name (not allowed, but seen) must not shift the fields after it.
    transfers = [zengin.TransferToWrite("1", dt.date(2026, 11, 1), 1200, "山田ﾀﾛｳ", "ﾐｽﾞﾎ")]
    parsed = zengin.parse(zengin.build(created_on=NOV, transfers=transfers), received_on=NOV)
    assert parsed.transfers[0].remitter_name == "山田ﾀﾛｳ"
    assert parsed.transfers[0].sending_bank_name == "ﾐｽﾞﾎ"
    assert parsed.transfers[0].amount == 1200


def test_zengin_wrong_trailer_is_refused():
    data = zengin.build(created_on=NOV, transfers=TRANSFERS, trailer_count=5)
    with pytest.raises(zengin.ZenginError, match="trailer says 5 transfers"):
        zengin.parse(data, received_on=NOV)


def test_zengin_bad_lengths_and_missing_records():
    data = zengin.build(created_on=NOV, transfers=TRANSFERS)
    with pytest.raises(zengin.ZenginError, match="not a multiple"):
        zengin.parse(data[:-1], received_on=NOV)
    with pytest.raises(zengin.ZenginError, match="no end record"):
        zengin.parse(data[:-200], received_on=NOV)
    crlf = zengin.build(created_on=NOV, transfers=TRANSFERS, line_end=b"\r\n")
    broken = crlf.replace(b"\r\n", b"X\r\n", 1)
    with pytest.raises(zengin.ZenginError, match="Record 1 is 201 bytes"):
        zengin.parse(broken, received_on=NOV)


def test_wareki_dates_take_the_era_from_the_creation_date():
    assert zengin.parse_date("081102", near=NOV) == dt.date(2026, 11, 2)  # 令和8年
    assert zengin.parse_date("310430", near=dt.date(2019, 5, 7)) == dt.date(2019, 4, 30)  # 平成31
    assert zengin.parse_date("010507", near=dt.date(2019, 5, 7)) == dt.date(2019, 5, 7)  # 令和元年
    assert zengin.parse_date("281102", near=NOV) == dt.date(2016, 11, 2)
    assert zengin.parse_date("261102", near=NOV, style="seireki") == dt.date(2026, 11, 2)
    assert zengin.to_wareki(NOV) == "081102"


def test_a_zengin_file_imported_twice_records_nothing_twice(world):
    data = zengin.build(created_on=NOV, transfers=TRANSFERS, line_end=b"\r\n")
    with in_shop(world.tea.id):
        first = deposits_import_zengin(shop=world.tea, data=data, filename="a.txt", received_on=NOV)
        again = deposits_import_zengin(shop=world.tea, data=data, filename="a.txt", received_on=NOV)
        assert (first.created_count, first.duplicate_count) == (2, 0)
        assert (again.created_count, again.duplicate_count) == (0, 2)
        assert sorted(Deposit.objects.values_list("amount", flat=True)) == [3130, 5400]
    with in_shop(world.ceramics.id):
        assert Deposit.objects.count() == 0


def test_a_wrong_trailer_imports_nothing(world):
    data = zengin.build(created_on=NOV, transfers=TRANSFERS, trailer_count=1)
    with in_shop(world.tea.id):
        with pytest.raises(zengin.ZenginError):
            deposits_import_zengin(shop=world.tea, data=data, filename="a.txt", received_on=NOV)
        assert Deposit.objects.count() == 0
        assert DepositImport.objects.count() == 0


RAKUTEN = (
    "取引日,入出金(円),取引後残高(円),入出金内容\r\n"
    "20261101,5400,105400,振込＊ﾔﾏﾀﾞ ﾀﾛｳ\r\n"
    "20261101,-2000,103400,ATM\r\n"
    '2026/11/02,"3,130",106530,振込 ｻﾄｳ ﾕｳｷ\r\n'
    "yesterday,100,0,振込 ﾀﾞﾚ\r\n"
    "20261103,5400,111930,振込＊ﾔﾏﾀﾞ ﾀﾛｳ\r\n"
)
SBI = (
    "日付,内容,出金金額(円),入金金額(円),残高(円),メモ\n"
    "2026/11/01,振込 ﾔﾏﾀﾞ ﾀﾛｳ,,5400,105400,\n"
    "2026/11/01,振込 ﾔﾏﾀﾞ ﾀﾛｳ,,5400,110800,\n"
    "2026/11/02,デビット,1200,,109600,\n"
)


def test_rakuten_csv_in_shift_jis_with_a_bad_row():
    statement = bank_csv.parse(RAKUTEN.encode("cp932"), profile_key="rakuten")
    assert statement.encoding == "cp932"
    assert [(d.line, d.received_on, d.amount, d.remitter_name) for d in statement.deposits] == [
        (2, dt.date(2026, 11, 1), 5400, "ﾔﾏﾀﾞ ﾀﾛｳ"),
        (4, dt.date(2026, 11, 2), 3130, "ｻﾄｳ ﾕｳｷ"),
        (6, dt.date(2026, 11, 3), 5400, "ﾔﾏﾀﾞ ﾀﾛｳ"),
    ]
    assert statement.errors == [(5, "not a date: 'yesterday'")]


def test_sbi_csv_in_utf8_keeps_two_identical_transfers(world):
    with in_shop(world.tea.id):
        first = deposits_import_csv(
            shop=world.tea, data=SBI.encode(), filename="sbi.csv", profile="sbi"
        )
        again = deposits_import_csv(
            shop=world.tea, data=SBI.encode("utf-8-sig"), filename="sbi.csv", profile="sbi"
        )
        assert (first.created_count, again.created_count, again.duplicate_count) == (2, 0, 2)
        assert list(Deposit.objects.values_list("amount", "remitter_name")) == [
            (5400, "ﾔﾏﾀﾞ ﾀﾛｳ"),
            (5400, "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ]


def test_csv_without_the_profile_columns_is_refused():
    with pytest.raises(bank_csv.ValidationError, match="no column"):
        bank_csv.parse(SBI.encode(), profile_key="rakuten")
