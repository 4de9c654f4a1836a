"""Every real mail of the shared corpus parses; the Japanese ones decode to what they say.

Expectations were written by reading each raw mail: encoded words and bodies decoded by hand
(JIS/Shift_JIS code points looked up), carrier emoji checked against the CP932 user-defined
area -> PUA formula (0xF89F = U+E63E, docomo's own mapping agrees).
"""

import json

import pytest

from madoguchi.connectors.mail.parsing import parse_mail
from madoguchi.connectors.mail.tests.corpus import MAIL_DIR, mail_files, read_mail

ALL_MAIL = mail_files()


def test_the_corpus_is_there():
    assert len([path for path in ALL_MAIL if "jpmobile" in path.parts]) == 30
    assert len([path for path in ALL_MAIL if "stalwart" in path.parts]) == 53


@pytest.mark.parametrize("path", ALL_MAIL, ids=[str(p.relative_to(MAIL_DIR)) for p in ALL_MAIL])
def test_every_corpus_mail_parses(path):
    parsed = parse_mail(path.read_bytes())
    data = parsed.to_json()
    json.dumps(data, ensure_ascii=False)
    assert "parser_error" not in [defect["kind"] for defect in data["defects"]]
    for value in (parsed.subject, parsed.from_name or ""):
        assert "\n" not in value and "\r" not in value
        assert "=?" not in value


# file: (subject, from_address, from_name, body snippet)
LONG_SUBJECT = (
    "タイトルの長いメールの場合の対処を実装するためのテストケ"
    "ースとしてのメールに含まれている件名であるサブジェクト部分"
)
JPMOBILE = {
    "au-attached.eml": (
        "題名x〓",
        "au@ezweb.ne.jp",
        None,
        "カレンダーだ〓",
    ),
    "au-decomail.eml": (
        "テスト〓",
        "au@ezweb.ne.jp",
        None,
        "テストです〓",
    ),
    "au-decomail2.eml": (
        "Fwd: 【NurseryMail】日日",
        "au@ezweb.ne.jp",
        None,
        "テストです〓",
    ),
    "au-email.eml": (
        "※本文はこのままで送信してね",
        "ogawa.jpmobile@ezweb.ne.jp",
        None,
        "本文〓\nFor au",
    ),
    "au-emoji.eml": (
        "題名〓",
        "ogawa.jpmobile@ezweb.ne.jp",
        None,
        "本文〓\nFor au",
    ),
    "au-emoji2.eml": (
        "題名〓",
        "jpmobile-rails.ogawa@ezweb.ne.jp",
        None,
        "本文〓\nFor au",
    ),
    # au emoji in JIS rows 0x75-0x7B collide with IBM extensions (japan-ec.md §2.3, accepted).
    "au-emoji5.eml": (
        "テスト坥OKよー",
        "au@ezweb.ne.jp",
        None,
        "テスト本文勛 Return-Path",
    ),
    "au-kigou.eml": (
        "test",
        "ans-earth2@ezweb.ne.jp",
        None,
        ("　、。，．・：？！゛゜´｀¨＾￣＿ヽヾゝゞ〃仝々〆〇ー―‐／＼～∥｜…‥"),
    ),
    "bounce_with_utf8_part.eml": (
        "Fwd: 【NurseryMail】日日",
        "au@ezweb.ne.jp",
        None,
        "iPhoneから送信\n\nBegin forwarded message:\n\n"
        "> とりあえずＨＴＭＬの本文で\n> あればいい可能性を考慮しては",
    ),
    "bounced-jp.eml": (
        "Undelivered Mail Returned to Sender",
        "MAILER-DAEMON@example.jp",
        "Mail Delivery System",
        "<unknown@docomo.ne.jp>: host mfsmax.docomo.ne.jp[203.138.181.112] said: 550",
    ),
    "docomo-decomail.eml": (
        "テスト",
        "docomo@docomo.ne.jp",
        None,
        "テストです",
    ),
    "docomo-emoji.eml": (
        "\u984c\u540d\ue676",
        "ogawa.jpmobile@docomo.ne.jp",
        None,
        "\u672c\u6587\ue6e2\nFor docomo",
    ),
    "docomo-gmail-sjis.eml": (
        "\u30c6\u30b9\u30c8\ue6ec",
        "docomo@docomo.ne.jp",
        None,
        "\u30c6\u30b9\u30c8\u3067\u3059\ue72d",
    ),
    "docomo-jis.eml": (
        "テスト",
        "jpmobile.anonymous@docomo.ne.jp",
        None,
        "テスト本文",
    ),
    "iphone-circled-numbers-in-jis.eml": (
        "テスト①",
        "softbank@i.softbank.jp",
        None,
        "丸数字のテストです②ⅱ",
    ),
    "iphone-cp932.eml": (
        "Re: 【NKSC】test",
        "cp932@ezweb.ne.jp",
        "cp932@ezweb.ne.jp",
        "テストです。㈱",
    ),
    "iphone-jis.eml": (
        "",
        "jis@i.softbank.jp",
        "jis@i.softbank.jp",
        "(=ﾟωﾟ)ﾉ",
    ),
    "iphone-mail3.eml": (
        "Re: 【NKSC】test",
        "au@ezweb.ne.jp",
        "au@ezweb.ne.jp",
        "iPhoneから送信○◎\n\nOn 2012/08/30, at 13:56, info@jpmobile.jp wrote:\n\n"
        "> 本文改行なし＿５１２文字＿あああ",
    ),
    "iphone-message.eml": (
        "iPhone au メッセージ",
        "au@ezweb.ne.jp",
        None,
        "%[園児名]%の%[保護者名]% 様\n\n施設に送信。",
    ),
    "iphone-unicode-emoji.eml": (
        "絵文字🎅",
        "jpmobile@i.softbank.jp",
        "jpmobile@i.softbank.jp",
        "🎄❣",
    ),
    "no-from.eml": (
        "ID:20035 Never be ripped off by a doctor again",
        None,
        None,
        "The ultimate convenience store in drugs",
    ),
    "non-jp.eml": (
        "BBC NEWS",
        "Lorrie@ts.co.nz",
        "Lorrie Hope",
        "Paris Hilton Scandal.",
    ),
    "pc-mail-attached-without-subject.eml": (
        "",
        "info@jpmobile.jp",
        "Shin-ichiro OGAWA",
        "本文です",
    ),
    "pc-mail-multi.eml": (
        LONG_SUBJECT,
        "info@jpmobile.jp",
        "Shin-ichiro OGAWA",
        "本文です",
    ),
    "pc-mail-single.eml": (
        LONG_SUBJECT,
        "info@jpmobile.jp",
        "Shin-ichiro OGAWA",
        "本文です",
    ),
    "softbank-blank.eml": (
        "",
        "softbank@softbank.ne.jp",
        None,
        "",
    ),
    "softbank-emoji-utf8.eml": (
        "\u984c\u540d\ue03c",
        "ogawa.jpmobile@softbank.ne.jp",
        None,
        "\u672c\u6587\ue21c\nFor softbank",
    ),
    "softbank-emoji.eml": (
        "\u984c\u540d\ue6d8",
        "ogawa.jpmobile@softbank.ne.jp",
        None,
        "\u672c\u6587\ue59f\nFor softbank",
    ),
    "softbank-gmail-sjis.eml": (
        "\u30c6\u30b9\u30c8\ue5a4\ue5a6\ue5a4",
        "softbank@softbank.ne.jp",
        None,
        "\u30c6\u30b9\u30c8\u3067\u3059\ue6b4",
    ),
    "softbank-gmail-utf8.eml": (
        "\u30c6\u30b9\u30c8\u3067\u3059\ue221",
        "softbank@softbank.ne.jp",
        None,
        "\u30c6\u30b9\u30c8\u3067\u3059\ue223",
    ),
}


def test_every_jpmobile_mail_has_expectations():
    names = {path.name for path in ALL_MAIL if "jpmobile" in path.parts}
    assert names == set(JPMOBILE)


@pytest.mark.parametrize("name", sorted(JPMOBILE))
def test_jpmobile_mail_decodes(name):
    subject, from_address, from_name, snippet = JPMOBILE[name]
    parsed = parse_mail(read_mail(f"jpmobile/{name}"))
    assert parsed.subject == subject
    assert parsed.from_address == from_address
    assert parsed.from_name == from_name
    assert snippet in parsed.body_text
    if name != "iphone-mail3.eml":
        assert "\ufffd" not in json.dumps(parsed.to_json(), ensure_ascii=False)


def test_iphone_mail3_replacement_characters_are_the_senders_own():
    # The UTF-8 body itself carries EF BF BD (truncated by the phone): no decoding defect.
    raw = read_mail("jpmobile/iphone-mail3.eml")
    parsed = parse_mail(raw)
    assert parsed.body_text.count("\ufffd") == 3
    assert parsed.defects == ()
    assert parsed.in_reply_to == "503ef27994050_75cf4344bfe77fe@jpmobile.jp.mail"


def test_jpmobile_details():
    circled = parse_mail(read_mail("jpmobile/iphone-circled-numbers-in-jis.eml"))
    assert circled.message_id == "107E70FB-4920-45C4-B0DA-000000000000@i.softbank.jp"
    assert circled.to == ("info@jpmobile-rails.org",)
    assert circled.to_json()["date"] == "2014-12-29T13:02:07+09:00"
    assert circled.body_text == "丸数字のテストです②ⅱ\n\n"

    attached = parse_mail(read_mail("jpmobile/au-attached.eml"))
    [photo] = attached.attachments
    assert (photo.filename, photo.content_type, photo.size, photo.is_inline) == (
        "20098calendar01.jpg",
        "image/jpeg",
        86412,
        False,
    )

    decomail = parse_mail(read_mail("jpmobile/docomo-decomail.eml"))
    assert decomail.body_html is not None
    assert '<img src="cid:03@110206.172728@______F03B@docomo.ne.jp">' in decomail.body_html
    [image] = decomail.attachments
    assert (image.filename, image.content_id, image.is_inline) == (
        "ao_hatena.gif",
        "03@110206.172728@______F03B@docomo.ne.jp",
        True,
    )

    forwarded = parse_mail(read_mail("jpmobile/pc-mail-multi.eml"))
    assert [(a.filename, a.content_type) for a in forwarded.attachments] == [
        ("pc-mail.eml", "message/rfc822")
    ]


def test_jpmobile_bounces():
    bounced = parse_mail(read_mail("jpmobile/bounced-jp.eml"))
    assert (bounced.is_bounce, bounced.auto_submitted) == (True, True)
    # Named after a parser bug, this one is a forwarded mail from a person.
    forwarded = parse_mail(read_mail("jpmobile/bounce_with_utf8_part.eml"))
    assert (forwarded.is_bounce, forwarded.auto_submitted) == (False, False)
    human = [
        name
        for name in JPMOBILE
        if name != "bounced-jp.eml" and parse_mail(read_mail(f"jpmobile/{name}")).is_bounce
    ]
    assert human == []


def _stalwart_header(part, name):
    for header in part.get("headers", []):
        if header["name"] == name:
            return header["value"]
    return None


def _stalwart_file_name(part):
    for header_name, parameter in (("content_disposition", "filename"), ("content_type", "name")):
        value = _stalwart_header(part, header_name)
        if isinstance(value, dict) and "ContentType" in value:
            attributes = value["ContentType"].get("attributes") or []
            for attribute in attributes:
                if attribute["name"] == parameter:
                    return attribute["value"]
    # An attached message without a file name is named after its Subject (issue #18).
    body = part.get("body")
    if isinstance(body, dict) and isinstance(body.get("Message"), dict):
        subject = _stalwart_header(body["Message"]["parts"][0], "subject")
        if isinstance(subject, dict) and (subject.get("Text") or "").strip():
            return f"{subject['Text'].strip()}.eml"
    return None


STALWART = sorted(MAIL_DIR.glob("stalwart/*/[0-9][0-9][0-9].json"))
# Where we differ on purpose: an address without "@" is rejected (strict parsing), a path in a
# file name is reduced to its last part, and an attached message without a file name is named
# after its Subject (Stalwart gives no name).
STALWART_DIFFERENCES = {
    "rfc/001": {"attachments"},
    "thirdparty/007": {"from", "attachments"},
    # The inner boundaries are never used: Stalwart keeps the rest of the mail in the first
    # attached message, the stdlib splits it at the outer boundary into three.
    "thirdparty/015": {"attachments"},
}


@pytest.mark.parametrize("path", STALWART, ids=[p.parent.name + "/" + p.stem for p in STALWART])
def test_stalwart_subjects_senders_and_attachment_names_agree(path):
    expected = json.loads(path.read_text())
    parsed = parse_mail(path.with_suffix(".eml").read_bytes())
    top = expected["parts"][0]
    differences = STALWART_DIFFERENCES.get(f"{path.parent.name}/{path.stem}", set())

    subject = _stalwart_header(top, "subject")
    assert parsed.subject == (subject.get("Text") or "" if isinstance(subject, dict) else "")

    sender = _stalwart_header(top, "from")
    addresses = []
    if isinstance(sender, dict) and "Address" in sender:
        addresses = sender["Address"].get("List") or []
    if "from" not in differences:
        assert parsed.from_address == (addresses[0]["address"] if addresses else None)

    names = [_stalwart_file_name(expected["parts"][index]) for index in expected["attachments"]]
    ours = [a.filename for a in parsed.attachments if not a.filename.startswith("attachment-")]
    if "attachments" not in differences:
        assert ours == [name for name in names if name]
