import pytest

from madoguchi.search.normalize import fold, normalize_text, search_form
from madoguchi.search.query import parse_query
from madoguchi.search.tokens import index_tokens, query_tokens


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("５４３２１", "54321"),
        ("ﾍﾝﾋﾟﾝ", "ヘンピン"),
        ("ＡＢＣ　ｄｅｆ", "ABC def"),
        ("10～12日", "10~12日"),
        ("10〜12日", "10~12日"),
        ("ラ－メン", "ラーメン"),
        ("ﾗｰﾒﾝ", "ラーメン"),
        ("ラ—メン", "ラーメン"),
        ("090‐1234－5678", "090-1234-5678"),
        ("髙橋", "髙橋"),
        ("  返品\n\n希望 ", "返品 希望"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_fold_lowercases_and_turns_katakana_into_hiragana_keeping_length() -> None:
    assert fold("iPhoneケース ヘンピン") == "iphoneけーす へんぴん"
    assert fold("髙橋") == "髙橋"
    assert len(fold("İstanbul")) == len("İstanbul")


def test_index_tokens_are_unigrams_bigrams_and_words() -> None:
    assert index_tokens(search_form("返品希望 iPhone")) == [
        "返", "品", "希", "望", "返品", "品希", "希望", "iphone",
    ]  # fmt: skip


def test_hyphenated_numbers_are_indexed_with_and_without_hyphens() -> None:
    assert index_tokens(search_form("電話 090-1234-5678")) == [
        "09012345678", "電", "話", "電話", "090", "1234", "5678",
    ]  # fmt: skip
    assert query_tokens(search_form("090-1234-5678")) == ["09012345678"]
    assert query_tokens(search_form("０９０１２３４５６７８")) == ["09012345678"]


def test_query_tokens_of_cjk_runs_are_bigrams_or_one_character() -> None:
    assert query_tokens(search_form("配送")) == ["配送"]
    assert query_tokens(search_form("茶")) == ["茶"]
    assert query_tokens(search_form("注文番号12345")) == ["注文", "文番", "番号", "12345"]


def test_high_and_ladder_high_stay_distinct() -> None:
    assert query_tokens(search_form("髙橋")) == ["髙橋"]
    assert query_tokens(search_form("高橋")) == ["高橋"]


def test_parse_query_and_phrase_and_exclusion() -> None:
    parsed = parse_query('返品 "在庫 確認" -キャンセル')
    assert [(term.text, term.tokens, term.is_phrase) for term in parsed.required] == [
        ("返品", ("返品",), False),
        ("在庫 確認", ("在庫", "確認"), True),
    ]
    assert [(term.text, term.tokens) for term in parsed.excluded] == [
        ("きゃんせる", ("きゃ", "ゃん", "んせ", "せる")),
    ]
    assert parse_query("-返品").is_empty
    assert parse_query("！？").is_empty


def test_normalised_characters_are_traced_to_the_written_ones() -> None:
    from madoguchi.search.normalize import normalize_with_sources

    traced = normalize_with_sources("  ｶﾞｯﾂ　～㈱ ")
    assert traced is not None
    text, sources = traced
    assert text == "ガッツ ~(株)"
    assert sources == [(2, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9), (8, 9), (8, 9)]


def test_the_original_title_is_marked_where_the_normalised_form_matched() -> None:
    from madoguchi.search.highlight import highlight_original
    from madoguchi.search.query import parse_query

    terms = parse_query("がっつ 株").required
    assert highlight_original("ｶﾞｯﾂ<と>㈱", terms) == "<mark>ｶﾞｯﾂ</mark>&lt;と&gt;<mark>㈱</mark>"
