from madoguchi.commerce.banking.kana import name_key, parse_remitter, to_bank_kana
from madoguchi.commerce.order_numbers import find_order_numbers
from madoguchi.commerce.tax import tax_breakdown


def test_order_numbers_in_messages():
    assert find_order_numbers("注文番号 12345 の件です") == ["12345"]
    assert find_order_numbers("#12345 が届きません") == ["12345"]
    assert find_order_numbers("ご注文番号：１２３４５です") == ["12345"]
    assert find_order_numbers("注文番号は#10234、もう一つ #10235") == ["10234", "10235"]
    assert find_order_numbers("Order No. 5551") == ["5551"]
    assert find_order_numbers("#TEA-1234 への返信 #1 です") == []
    assert find_order_numbers("") == []


def test_tax_is_rounded_once_per_rate():
    # Three lines of 115 yen (tax included) at 10%: per line 10 each (30); per order 31.
    breakdown = tax_breakdown([(115, 10), (115, 10), (115, 10), (1080, 8)])
    assert (breakdown.total_10, breakdown.tax_10) == (345, 31)
    assert (breakdown.total_8, breakdown.tax_8) == (1080, 80)
    assert breakdown.tax == 111


def test_remitter_names_normalise():
    assert parse_remitter("1001ﾔﾏﾀﾞﾀﾛｳ").key == name_key("やまだ たろう") == "ヤマダタロウ"
    assert parse_remitter("1001ﾔﾏﾀﾞﾀﾛｳ").numbers == ("1001",)
    assert parse_remitter("ﾔﾏﾀﾞ ﾀﾛｳ 1001").numbers == ("1001",)
    assert parse_remitter("ｼﾖｳｼﾞ ｷﾖｳｺ").key == name_key("ショウジ キョウコ")
    assert parse_remitter("ｶ)ｱｵｷﾄｳﾎﾞｳ").key == name_key("株式会社アオキトウボウ") == "アオキトウボウ"
    assert parse_remitter("ｱｵｷﾄｳﾎﾞｳ)ｶ").key == "アオキトウボウ"
    assert parse_remitter("(ｶ)ｱｵｷﾄｳﾎﾞｳ").key == "アオキトウボウ"
    assert parse_remitter("ﾕ)ﾐﾄﾞﾘ").key == "ミドリ"
    assert parse_remitter("ﾄﾞ)ﾐﾄﾞﾘ").key == "ミドリ"
    assert parse_remitter("ｺ-ﾋ-ﾊｳｽ").key == name_key("コーヒーハウス")
    assert parse_remitter("ｳﾞｲｸﾄﾙ").key == name_key("ヴィクトル") == "ヴイクトル"
    assert to_bank_kana("いとう しょうた") == "ｲﾄｳ ｼﾖｳﾀ"
