"""Message HTML is reduced to the allowlist before it is stored or shown."""

import pytest

from madoguchi.conversations.sanitize import sanitize_html

REL = 'rel="noopener noreferrer nofollow"'


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>ご注文<b>ありがとう</b>ございます</p>", "<p>ご注文<b>ありがとう</b>ございます</p>"),
        ("<script>alert(1)</script><p>本文</p>", "<p>本文</p>"),
        ('<p onclick="steal()" style="color:red" class="x">本文</p>', "<p>本文</p>"),
        ('<a href="javascript:alert(1)">x</a>', f"<a {REL}>x</a>"),
        ('<a href="https://shop.example/faq" target="_blank">FAQ</a>',
         f'<a href="https://shop.example/faq" {REL}>FAQ</a>'),
        ('<a href="mailto:info@shop.example">連絡</a>',
         f'<a href="mailto:info@shop.example" {REL}>連絡</a>'),
        ('<form action="https://evil.example"><input name="card"><button>送信</button></form>',
         "送信"),
        ("<iframe src=\"https://evil.example\"></iframe>本文", "本文"),
        ("<style>body{display:none}</style>本文", "本文"),
        ('<img src="https://tracker.example/pixel.gif" width="1">', ""),
        ('<img src="//tracker.example/pixel.gif">', ""),
        ('<img src="data:image/png;base64,AAAA" alt="x">', '<img alt="x">'),
        ('<img src="cid:logo@shop" alt="ロゴ">', '<img src="cid:logo@shop" alt="ロゴ">'),
        ('<td colspan="2" bgcolor="red">合計</td>', "合計"),  # a cell outside a table
        ('<table><tr><td colspan="2" bgcolor="red">合計</td></tr></table>',
         '<table><tbody><tr><td colspan="2">合計</td></tr></tbody></table>'),
        ("<p>&lt;script&gt; は文字</p>", "<p>&lt;script&gt; は文字</p>"),
    ],
)  # fmt: skip
def test_sanitize_html(html, expected):
    assert sanitize_html(html) == expected


def test_remote_images_are_kept_when_allowed():
    html = '<img src="https://shop.example/item.jpg" alt="商品">'
    assert sanitize_html(html, allow_remote_images=True) == html
    assert sanitize_html(html) == ""
