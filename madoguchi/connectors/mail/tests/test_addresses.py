import pytest

from madoguchi.connectors.mail.addresses import Mailbox, parse_address_list


@pytest.mark.parametrize(
    "header",
    [
        # CVE-2023-27043: parseaddr returned alice@example.org for these.
        "alice@example.org)<bob@example.org>",
        "alice@example.org <bob@example.org>",
        '"Bob" <bob@example.org>@evil.example',
        "a@b@example.org",
        "Bob <bob@example.org> <mallory@evil.example>",
        "bob@exa mple.org",
    ],
)
def test_ambiguous_addresses_yield_nothing_and_a_problem(header):
    parsed = parse_address_list(header)
    assert parsed.mailboxes == []
    assert len(parsed.problems) == 1
    assert parsed.problems[0].startswith("rejected ")


@pytest.mark.parametrize(
    ("header", "name", "address"),
    [
        # Malformed but naming one mailbox only (issue #18): recovered, with a problem.
        ("<bob@example.org", "", "bob@example.org"),
        ('"unterminated <bob@example.org>', "unterminated", "bob@example.org"),
        ("(unterminated comment bob@example.org", "unterminated comment", "bob@example.org"),
    ],
)
def test_malformed_single_mailboxes_are_recovered(header, name, address):
    parsed = parse_address_list(header)
    assert parsed.mailboxes == [Mailbox(name=name, address=address)]
    assert len(parsed.problems) == 1
    assert parsed.problems[0].startswith("malformed ")


def test_quoted_lookalike_display_name_keeps_the_real_address():
    parsed = parse_address_list('"alice@shop-a.example" <mallory@evil.example>')
    assert parsed.mailboxes == [
        Mailbox(name="alice@shop-a.example", address="mallory@evil.example")
    ]
    assert parsed.problems == []


def test_japanese_carrier_local_parts_are_accepted():
    parsed = parse_address_list("taro..yamada.@docomo.ne.jp, .hanako@ezweb.ne.jp")
    assert [mailbox.address for mailbox in parsed.mailboxes] == [
        "taro..yamada.@docomo.ne.jp",
        ".hanako@ezweb.ne.jp",
    ]


def test_encoded_display_names_are_decoded_after_the_structure():
    parsed = parse_address_list(
        "=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <Yamada@Example.JP>, "
        '"=?UTF-8?B?6auZ5qmL?=" <takahashi@example.jp>'
    )
    assert parsed.mailboxes == [
        Mailbox(name="山田", address="Yamada@example.jp"),
        Mailbox(name="髙橋", address="takahashi@example.jp"),
    ]


def test_encoded_word_cannot_inject_a_second_address():
    # "x@evil.example>, <y" hidden in an encoded word stays part of the name.
    parsed = parse_address_list("=?UTF-8?Q?x=40evil.example=3E=2C_=3Cy?= <real@example.jp>")
    assert parsed.mailboxes == [Mailbox(name="x@evil.example>, <y", address="real@example.jp")]


def test_groups_comments_and_source_routes():
    parsed = parse_address_list(
        "Team: a@example.jp, B <b@example.jp>;, c@example.jp (Chika), <@relay.example:d@example.jp>"
    )
    assert parsed.mailboxes == [
        Mailbox(name="", address="a@example.jp"),
        Mailbox(name="B", address="b@example.jp"),
        Mailbox(name="Chika", address="c@example.jp"),
        Mailbox(name="", address="d@example.jp"),
    ]
    assert parse_address_list("undisclosed-recipients:;").mailboxes == []


def test_one_bad_address_does_not_drop_the_good_ones():
    parsed = parse_address_list("good@example.jp, Whomever, other@example.jp")
    assert [mailbox.address for mailbox in parsed.mailboxes] == [
        "good@example.jp",
        "other@example.jp",
    ]
    assert parsed.problems == ["rejected 'Whomever': an address needs exactly one '@'"]


def test_display_name_control_characters_are_removed():
    parsed = parse_address_list("=?UTF-8?Q?Eve=0D=0ABcc=3A_x?= <eve@example.jp>")
    assert parsed.mailboxes == [Mailbox(name="Eve Bcc: x", address="eve@example.jp")]


def test_stray_closing_bracket_is_rejected_not_looped_on():
    parsed = parse_address_list("se]der@example.com")
    assert parsed.mailboxes == []
    assert parsed.problems == ["rejected 'se]der@example.com': stray ']'"]
