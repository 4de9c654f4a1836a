from madoguchi.connectors.mail.bodies import html_to_text, split_quoted


def test_gmail_japanese_attribution():
    text = (
        "田中様\n\nお世話になっております。\n承知しました。\n\n"
        "2025年5月30日(金) 10:15 サポート <support@example.jp>:\n"
        "> ご注文ありがとうございます。\n> 発送は明日です。\n"
    )
    new, quoted = split_quoted(text)
    assert new == "田中様\n\nお世話になっております。\n承知しました。"
    assert quoted == (
        "2025年5月30日(金) 10:15 サポート <support@example.jp>:\n"
        "> ご注文ありがとうございます。\n> 発送は明日です。"
    )


def test_gmail_japanese_attribution_with_full_width_parentheses_and_no_quote_markers():
    text = "了解です\n\n2025年5月30日（金）9:05 店舗 <shop@example.jp>:\nご注文の件\n"
    assert split_quoted(text) == (
        "了解です",
        "2025年5月30日（金）9:05 店舗 <shop@example.jp>:\nご注文の件",
    )


def test_iphone_japanese_attribution():
    text = (
        "届きました\n\niPhoneから送信\n\n"
        "2025/05/30 10:15、サポート <support@example.jp>のメール:\n\n＞ 発送しました\n"
    )
    new, quoted = split_quoted(text)
    assert new == "届きました\n\niPhoneから送信"
    assert quoted.startswith("2025/05/30 10:15、サポート <support@example.jp>のメール:")


def test_outlook_japanese_header_block():
    text = (
        "返品をお願いします。\n\n"
        "差出人: サポート <support@example.jp>\n"
        "送信日時: 2025年5月30日 10:15\n"
        "宛先: 田中 <tanaka@example.jp>\n"
        "件名: ご注文について\n\n"
        "ご注文ありがとうございます。\n"
    )
    new, quoted = split_quoted(text)
    assert new == "返品をお願いします。"
    assert quoted.startswith("差出人: サポート")
    assert quoted.endswith("ご注文ありがとうございます。")


def test_outlook_rule_and_original_message_separators():
    assert split_quoted("OK\n________________________________\nFrom: A <a@example.jp>\n"
                        "Sent: Friday\nTo: B\nSubject: x\n\nold")[0] == "OK"  # fmt: skip
    assert split_quoted("はい\n-----Original Message-----\nFrom: a\nold")[0] == "はい"
    assert split_quoted("はい\n----- 元のメッセージ -----\n差出人: a\nold") == (
        "はい",
        "----- 元のメッセージ -----\n差出人: a\nold",
    )


def test_english_attribution_wrapped_over_two_lines():
    text = "Thanks!\n\nOn Fri, 30 May 2025 at 10:15, Support <support@example.jp>\nwrote:\n> old\n"
    assert split_quoted(text) == (
        "Thanks!",
        "On Fri, 30 May 2025 at 10:15, Support <support@example.jp>\nwrote:\n> old",
    )


def test_trailing_quote_block_with_its_attribution():
    text = "新しい本文\n\nサポートさん:\n> 古い本文\n>> もっと古い\n"
    assert split_quoted(text) == ("新しい本文", "サポートさん:\n> 古い本文\n>> もっと古い")


def test_signature_is_separated():
    text = "本文です\n-- \n山田商店 サポート\nTEL 03-0000-0000\n"
    assert split_quoted(text) == ("本文です", "-- \n山田商店 サポート\nTEL 03-0000-0000")


def test_inline_replies_are_not_collapsed():
    text = "> 在庫はありますか\nあります\n> 送料は?\n無料です\n"
    assert split_quoted(text) == (text, "")


def test_text_that_is_only_a_quote_stays_whole():
    text = "> 古い本文だけ\n"
    assert split_quoted(text) == (text, "")


def test_no_quote():
    assert split_quoted("こんにちは\n注文番号は123です") == ("こんにちは\n注文番号は123です", "")


def test_html_to_text():
    html = (
        "<html><head><style>p{}</style><title>t</title></head><body>"
        "<p>ご注文&amp;発送</p><div>1行目<br>2行目</div><script>alert(1)</script>"
        "<table><tr><td>A</td><td>B</td></tr></table></body></html>"
    )
    assert html_to_text(html) == "ご注文&発送\n\n1行目\n2行目\n\nA\tB"
