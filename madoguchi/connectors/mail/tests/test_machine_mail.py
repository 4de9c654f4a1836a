"""Machine mail: one sample per rule of `machine_mail.RULES`, each following a published one.

The samples are written here as bytes after the RFC examples and public collections named in
each; `test_every_rule_has_a_sample` keeps the table and the samples in step. The pipeline tests
at the end run reports through ingest on real rows.
"""

import json

import pytest
from django_scopes import scopes_disabled

from madoguchi.connectors.mail.bounces import BOUNCED
from madoguchi.connectors.mail.machine_mail import RULES, Kind
from madoguchi.connectors.mail.models import OutboundMail, RawMail
from madoguchi.connectors.mail.parsing import parse_bounce, parse_mail
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.selectors import unmatched_reports
from madoguchi.connectors.mail.tests.corpus import MAIL_DIR
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup, make_mail
from madoguchi.connectors.mail.tests.raw import build
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import message_reply
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.normalize import identity_digest
from madoguchi.events.models import Event
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop

SHOP = "support@shop.example.jp"
OURS = "reply-1@shop.example.jp"


def _corpus(name: str) -> bytes:
    return (MAIL_DIR / name).read_bytes()


# RFC 3464 appendix A.1 ("simple DSN"), as a Sendmail MTA writes it.
RFC3464 = build(
    [
        "Date: Thu, 7 Jul 1994 17:16:05 -0400",
        "From: Mail Delivery Subsystem <MAILER-DAEMON@CS.UTK.EDU>",
        f"To: <{SHOP}>",
        "Subject: Returned mail: Cannot send message for 5 days",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;",
        '\tboundary="RAA14128.773615765/CS.UTK.EDU"',
    ],
    "--RAA14128.773615765/CS.UTK.EDU\r\n\r\n"
    "The original message was received at Sat, 2 Jul 1994 17:10:28 -0400\r\n"
    "----- The following addresses had delivery problems -----\r\n"
    "<louis@larry.slip.umd.edu>  (unrecoverable error)\r\n\r\n"
    "--RAA14128.773615765/CS.UTK.EDU\r\n"
    "content-type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; cs.utk.edu\r\n\r\n"
    "Original-Recipient: rfc822;louis@larry.slip.umd.edu\r\n"
    "Final-Recipient: rfc822;louis@larry.slip.umd.edu\r\n"
    "Action: failed\r\n"
    "Status: 4.0.0\r\n"
    "Diagnostic-Code: smtp; 426 connection timed out\r\n"
    "Last-Attempt-Date: Thu, 7 Jul 1994 17:15:49 -0400\r\n\r\n"
    "--RAA14128.773615765/CS.UTK.EDU\r\n"
    "content-type: message/rfc822\r\n\r\n"
    f"From: {SHOP}\r\nTo: louis@larry.slip.umd.edu\r\nMessage-ID: <{OURS}>\r\n"
    "Subject: Re: order\r\n\r\nbody\r\n"
    "--RAA14128.773615765/CS.UTK.EDU--\r\n",
)

# RFC 6591 appendix B.1 (DKIM authentication failure report, the DMARC forensic format).
DMARC_FORENSIC = build(
    [
        "From: dmarc-reports@example.com",
        f"To: {SHOP}",
        "Subject: FW: Re: order",
        "Date: Thu, 8 Mar 2005 17:40:36 EDT",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=feedback-report;",
        '\tboundary="part1_13d.2e68ed54_boundary"',
    ],
    "--part1_13d.2e68ed54_boundary\r\nContent-Type: text/plain; charset=US-ASCII\r\n\r\n"
    "This is an authentication failure report for an email message received from IP\r\n"
    "192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.\r\n\r\n"
    "--part1_13d.2e68ed54_boundary\r\nContent-Type: message/feedback-report\r\n\r\n"
    "Feedback-Type: auth-failure\r\nUser-Agent: SomeDKIMFilter/1.0\r\nVersion: 1\r\n"
    f"Original-Mail-From: <{SHOP}>\r\nOriginal-Rcpt-To: <user@example.com>\r\n"
    "Source-IP: 192.0.2.1\r\n"
    "Authentication-Results: mail.example.com; dkim=fail header.d=shop.example.jp\r\n"
    "Reported-Domain: shop.example.jp\r\nDKIM-Domain: shop.example.jp\r\n\r\n"
    "--part1_13d.2e68ed54_boundary\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    f"From: <{SHOP}>\r\nTo: <user@example.com>\r\nSubject: Re: order\r\n"
    f"Message-ID: <{OURS}>\r\n\r\n"
    "--part1_13d.2e68ed54_boundary--\r\n",
)

# RFC 5965 appendix B.2 (abuse report with the original message).
ARF_ABUSE = build(
    [
        "From: <abusedesk@example.com>",
        "Date: Thu, 8 Mar 2005 17:40:36 EDT",
        "Subject: FW: Re: order",
        f"To: <{SHOP}>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=feedback-report;",
        '\tboundary="part1_13d.2e68ed54_boundary"',
    ],
    "--part1_13d.2e68ed54_boundary\r\nContent-Type: text/plain; charset=US-ASCII\r\n\r\n"
    "This is an email abuse report for an email message received from IP\r\n"
    "192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.\r\n\r\n"
    "--part1_13d.2e68ed54_boundary\r\nContent-Type: message/feedback-report\r\n\r\n"
    "Feedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\n"
    f"Original-Mail-From: <{SHOP}>\r\nOriginal-Rcpt-To: <Taro@Example.JP>\r\n"
    "Received-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\nSource-IP: 192.0.2.1\r\n\r\n"
    "--part1_13d.2e68ed54_boundary\r\nContent-Type: message/rfc822\r\n"
    "Content-Disposition: inline\r\n\r\n"
    f"From: <{SHOP}>\r\nTo: <taro@example.jp>\r\nSubject: Re: order\r\n"
    f"Message-ID: <{OURS}>\r\nDate: Thu, 8 Mar 2005 13:00:00 EDT\r\n\r\nbody\r\n"
    "--part1_13d.2e68ed54_boundary--\r\n",
)


def _ses(notification: dict[str, object], *, envelope: bool) -> bytes:
    """An SES notification as an SNS email (envelope) or email-json subscription delivers it."""
    message = json.dumps(notification)
    body = (
        json.dumps({"Type": "Notification", "MessageId": "sns-1", "Message": message})
        if envelope
        else message
    )
    return build(
        [
            "From: AWS Notifications <no-reply@sns.amazonaws.com>",
            f"To: {SHOP}",
            "Subject: AWS Notification Message",
            "Message-ID: <sns-1@email.amazonses.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
        ],
        body,
    )


_SES_MAIL = {
    "timestamp": "2016-01-27T14:59:38.237Z",
    "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
    "source": SHOP,
    "destination": ["taro@example.jp"],
    "headersTruncated": False,
    "headers": [{"name": "Message-ID", "value": f"<{OURS}>"}],
    "commonHeaders": {"from": [SHOP], "to": ["taro@example.jp"], "messageId": f"<{OURS}>"},
}
# Amazon SES developer guide, "Examples of Amazon SNS notifications": bounce and complaint.
SES_BOUNCE = _ses(
    {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "Taro@example.jp",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
            "reportingMTA": "dns; email.example.com",
        },
        "mail": _SES_MAIL,
    },
    envelope=True,
)
SES_COMPLAINT = _ses(
    {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "taro@example.jp"}],
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "0000013786031775-fea503bc-7497-49e1-881b-a0379bb037d3-000000",
            "complaintFeedbackType": "abuse",
        },
        "mail": _SES_MAIL,
    },
    envelope=False,
)

# au by KDDI notices (Sisimai set-of-emails lhost-kddi / lhost-ezweb, BSD-2-Clause), once in
# English and once with the Japanese subject 「メールエラー通知」.
KDDI = build(
    [
        "From: <Postmaster@ezweb.ne.jp>",
        f"To: {SHOP}",
        "Subject: Mail System Error - Returned Mail",
        "Date: Thu, 29 Apr 2010 23:34:45 +0900",
        "Content-Type: text/plain; charset=us-ascii",
    ],
    "Your mail sent on: Thu, 29 Apr 2010 23:34:45 +0900\r\n\r\n"
    "     Could not be delivered to: <hanako@ezweb.ne.jp>\r\n"
    "     As their mailbox is full.\r\n",
)
KDDI_JAPANESE = build(
    [
        "From: au <no-reply@auone-net.jp>",
        f"To: {SHOP}",
        "Subject: =?ISO-2022-JP?B?GyRCJWEhPCVrJSglaSE8RExDThsoQg==?=",
        "Content-Type: text/plain; charset=ISO-2022-JP",
    ],
    "以下のアドレスへのメールは届きませんでした。\r\n<jiro@au.com>\r\n".encode("iso2022_jp"),
)
# NTT docomo (Sisimai set-of-emails; mail refused by the docomo filter).
DOCOMO = build(
    [
        "From: Mail Delivery Subsystem <Postmaster@docomo.ne.jp>",
        f"To: {SHOP}",
        "Subject: =?UTF-8?B?6YWN5L+h44Ko44Op44O8?=",  # 配信エラー
        "Content-Type: text/plain; charset=UTF-8",
    ],
    "次の宛先にメールを配信できませんでした。\r\n<saburo@docomo.ne.jp>\r\n550 Unknown user\r\n",
)
# SoftBank (Sisimai set-of-emails, i.softbank.jp).
SOFTBANK = build(
    [
        "From: <Postmaster@i.softbank.jp>",
        f"To: {SHOP}",
        "Subject: Undeliverable Mail",
        "Content-Type: text/plain; charset=us-ascii",
    ],
    "This message was undeliverable to <shiro@i.softbank.jp>.\r\n550 5.1.1 unknown user\r\n",
)
# fml 4 "NOT MEMBER article from" reject (Sisimai lhost-fml samples, BSD-2-Clause).
FML = build(
    [
        "From: test-ml-admin@ml.example.jp",
        f"To: {SHOP}",
        f"Subject: NOT MEMBER article from {SHOP} (test-ml ML)",
        "X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]; post only (only members can post)",
        'X-ML-Info: If you have a question, send e-mail with the body "help" to',
        "\ttest-ml-ctl@ml.example.jp",
        "Message-Id: <20110101000000.FMLAAA00001.test-ml@ml.example.jp>",
        "Content-Type: text/plain; charset=us-ascii",
    ],
    "You are not a member of this mailing list <test-ml@ml.example.jp>.\r\n\r\n"
    f"Message-ID: <{OURS}>\r\n",
)
# GNU Mailman 2.1 "awaits moderator approval" notice (X-List-Administrivia, Mailman's own).
MAILMAN = build(
    [
        "From: shop-owner@lists.example.org",
        f"To: {SHOP}",
        "Subject: Your message to Shop awaits moderator approval",
        "X-List-Administrivia: yes",
        "X-BeenThere: shop@lists.example.org",
        "List-Id: <shop.lists.example.org>",
        "Content-Type: text/plain; charset=us-ascii",
    ],
    "Your mail to 'Shop' with the subject\r\n\r\n    Re: order\r\n\r\n"
    "Is being held until the list moderator can review it for approval.\r\n",
)
# Exim's plain-text bounce, From a bare MAILER-DAEMON without a domain and the subject only
# "Mail delivery failed" (Exim specification, "Bounce messages"; the sample).
BARE_DAEMON = build(
    [
        "From: MAILER-DAEMON",
        f"To: {SHOP}",
        "Subject: Mail delivery failed",
        "Content-Type: text/plain; charset=us-ascii",
    ],
    "This message was created automatically by mail delivery software.\r\n\r\n"
    "A message that you sent could not be delivered to one or more of its\r\n"
    "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
    "  taro@example.jp\r\n"
    "    SMTP error from remote mail server after RCPT TO:<taro@example.jp>:\r\n"
    "    host mx.example.jp [192.0.2.1]: 550 5.1.1 User unknown\r\n\r\n"
    "------ This is a copy of the message, including all the headers. ------\r\n\r\n"
    f"Return-path: <{SHOP}>\r\nMessage-ID: <{OURS}>\r\nSubject: Re: order\r\n\r\nbody\r\n",
)
# A Japanese ISP's bounce without a report part (jpmobile's Japanese bounces; Sisimai JP lhosts).
JAPANESE_ISP = build(
    [
        "Return-Path: <>",
        "From: system@mail.example.ne.jp",
        f"To: {SHOP}",
        "Subject: =?UTF-8?B?6YWN5L+h5LiN6IO9?=",  # 配信不能
        "Content-Type: text/plain; charset=UTF-8",
    ],
    "宛先 <goro@example.ne.jp> へ配信できませんでした。\r\n",
)

HUMAN = [
    "From: Taro <taro@example.jp>",
    f"To: {SHOP}",
    "Subject: =?UTF-8?B?5rOo5paH?=",
    "Message-ID: <m1@example.jp>",
]


def _human(*extra: str, subject: str = "") -> bytes:
    headers = [*HUMAN[:2], f"Subject: {subject}" if subject else HUMAN[2], HUMAN[3], *extra]
    return build(headers, "本文です。")


SAMPLES: dict[str, list[bytes]] = {
    "rfc3464-delivery-status": [_corpus("jpmobile/bounced-jp.eml"), RFC3464],
    "dmarc-forensic-report": [DMARC_FORENSIC],
    "arf-feedback-report": [ARF_ABUSE],
    "ses-bounce": [SES_BOUNCE],
    "ses-complaint": [SES_COMPLAINT],
    "carrier-kddi": [KDDI, KDDI_JAPANESE],
    "carrier-docomo": [DOCOMO],
    "carrier-softbank": [SOFTBANK],
    "fml-notice": [FML],
    "mailman-administrivia": [MAILMAN],
    "daemon-sender": [BARE_DAEMON],
    "bounce-subject-with-machine-sign": [JAPANESE_ISP],
    "auto-submitted": [_human("Auto-Submitted: auto-replied")],
    "precedence": [_human("Precedence: junk"), _human("Precedence: auto_reply")],
    "x-auto-response-suppress": [_human("X-Auto-Response-Suppress: OOF")],
    "x-autoreply": [_human("X-Autoreply: yes"), _human("X-Autorespond: Thanks")],
    "x-ms-exchange-auto-reply": [
        _human("X-MS-Exchange-Inbox-Rules-Loop: taro@example.jp"),
        _human("X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent"),
    ],
    "x-autogenerated": [
        _human("X-Autogenerated: Reply"),
        _human("X-POST-MessageClass: 9; Autoresponder"),
        _human("Delivered-To: Autoresponder"),
    ],
    "x-loop": [_human(f"X-Loop: {SHOP}")],
    "list-headers": [_human("List-Id: <news.example.jp>")],
    "null-return-path": [_human("Return-Path: <>")],
    "auto-reply-subject": [
        _human(subject="Auto reply: Re: order"),
        _human(subject="Automatic reply: Re: order"),
        _human(subject="=?UTF-8?B?6Ieq5YuV6L+U5L+hOiDjgYrllY/jgYTlkIjjgo/jgZs=?="),  # 自動返信: …
    ],
}


def test_every_rule_has_a_sample():
    assert set(SAMPLES) == {rule.name for rule in RULES}
    assert all(rule.source for rule in RULES)


@pytest.mark.parametrize(
    ("rule_name", "raw"),
    [(name, raw) for name, raws in SAMPLES.items() for raw in raws],
)
def test_rule_recognises_its_sample(rule_name, raw):
    from madoguchi.connectors.mail.automation import _headers_of, _subject
    from madoguchi.connectors.mail.machine_mail import recognise
    from madoguchi.connectors.mail.parsing import _PARSER

    message = _PARSER.parsebytes(raw)
    recognition = recognise(message, _headers_of(message), _subject(message))
    rule = next(rule for rule in RULES if rule.name == rule_name)
    assert rule_name in recognition.reasons
    parsed = parse_mail(raw)
    assert parsed.auto_submitted is True
    assert parsed.is_bounce is (rule.kind != Kind.AUTO_REPLY)
    if rule.kind != Kind.AUTO_REPLY:
        assert recognition.report_rule == rule


@pytest.mark.parametrize(
    "raw",
    [
        # A person writing about a bounce: the words, no report part, no DSN structure.
        _human(subject="email bounce notification"),
        build(
            [*HUMAN[:2], "Subject: Re: Mail delivery failed", "Message-ID: <m2@example.jp>"],
            "Your shop's mail bounced, see below:\r\n> Final-Recipient: rfc822; a@example.jp\r\n"
            "> Status: 5.1.1\r\n",
        ),
        # A customer's 「送信できませんでした」 (注文が送信できませんでした).
        _human(subject="=?UTF-8?B?5rOo5paH44GM6YCB5L+h44Gn44GN44G+44Gb44KT44Gn44GX44Gf?="),
        _human("Auto-Submitted: no"),
        _human("Precedence: first-class"),
    ],
)
def test_a_persons_mail_is_not_machine_mail(raw):
    parsed = parse_mail(raw)
    assert (parsed.is_bounce, parsed.auto_submitted) == (False, False)
    assert parse_bounce(raw) is None


def test_postfix_dsn_from_the_corpus_is_read_field_by_field():
    report = parse_bounce(_corpus("jpmobile/bounced-jp.eml"))
    assert report is not None
    assert (report.kind, report.rule, report.is_standard) == (
        Kind.DELIVERY_FAILURE,
        "rfc3464-delivery-status",
        True,
    )
    assert report.original_message_id == "502e4f8c8dc0a_1ed1cbf30467885@mail"
    assert [(r.recipient, r.action, r.status, r.diagnostic) for r in report.recipients] == [
        ("unknown@docomo.ne.jp", "failed", "5.0.0", "smtp; 550 Unknown user unknown@docomo.ne.jp")
    ]
    assert report.is_permanent is True


def test_rfc3464_example_is_not_permanent_and_names_our_message():
    report = parse_bounce(RFC3464)
    assert report is not None
    assert report.original_message_id == OURS
    assert [(r.recipient, r.status, r.is_permanent) for r in report.recipients] == [
        ("louis@larry.slip.umd.edu", "4.0.0", False)
    ]
    assert report.is_permanent is False


def test_bare_mailer_daemon_text_bounce():
    report = parse_bounce(BARE_DAEMON)
    assert report is not None
    assert (report.rule, report.is_standard, report.original_message_id) == (
        "daemon-sender",
        False,
        OURS,
    )
    assert [(r.recipient, r.action, r.status) for r in report.recipients] == [
        ("taro@example.jp", "failed", "5.1.1")
    ]


def test_arf_complaint_names_the_complainant_and_our_message():
    report = parse_bounce(ARF_ABUSE)
    assert report is not None
    assert (report.kind, report.original_message_id, report.is_permanent) == (
        Kind.COMPLAINT,
        OURS,
        False,
    )
    assert [(r.recipient, r.action, r.diagnostic) for r in report.recipients] == [
        ("taro@example.jp", "complained", "abuse")
    ]


def test_dmarc_forensic_report_is_an_auth_failure_on_our_message():
    report = parse_bounce(DMARC_FORENSIC)
    assert report is not None
    assert (report.kind, report.rule, report.original_message_id) == (
        Kind.AUTH_FAILURE,
        "dmarc-forensic-report",
        OURS,
    )


def test_ses_bounce_json():
    report = parse_bounce(SES_BOUNCE)
    assert report is not None
    assert (report.kind, report.original_message_id, report.is_permanent) == (
        Kind.DELIVERY_FAILURE,
        OURS,
        True,
    )
    assert [(r.recipient, r.action, r.status, r.diagnostic) for r in report.recipients] == [
        ("taro@example.jp", "failed", "5.1.1", "smtp; 550 5.1.1 user unknown")
    ]


def test_ses_complaint_json():
    report = parse_bounce(SES_COMPLAINT)
    assert report is not None
    assert (report.kind, report.original_message_id) == (Kind.COMPLAINT, OURS)
    assert [(r.recipient, r.action) for r in report.recipients] == [
        ("taro@example.jp", "complained")
    ]


@pytest.mark.parametrize(
    ("raw", "subject", "recipient"),
    [
        (KDDI, "Mail System Error - Returned Mail", "hanako@ezweb.ne.jp"),
        (KDDI_JAPANESE, "メールエラー通知", "jiro@au.com"),
        (DOCOMO, "配信エラー", "saburo@docomo.ne.jp"),
        (SOFTBANK, "Undeliverable Mail", "shiro@i.softbank.jp"),
    ],
)
def test_carrier_notices_name_the_failed_address(raw, subject, recipient):
    assert parse_mail(raw).subject == subject
    report = parse_bounce(raw)
    assert report is not None
    assert [(r.recipient, r.action) for r in report.recipients] == [(recipient, "failed")]
    assert report.is_permanent is True


def test_list_manager_notices_are_reports_without_a_failed_address():
    fml = parse_bounce(FML)
    mailman = parse_bounce(MAILMAN)
    assert fml is not None and mailman is not None
    assert (fml.kind, fml.original_message_id, fml.recipients) == (Kind.LIST_NOTICE, OURS, ())
    assert (mailman.kind, mailman.recipients, mailman.is_permanent) == (
        Kind.LIST_NOTICE,
        (),
        False,
    )


# --- The pipeline, on real rows -------------------------------------------------------------


@pytest.fixture
def mail_world(world, settings):
    settings.EMAIL_PORT = 9  # nothing listens: queued mail stays queued, nothing leaves
    mail_setup(world)
    return world


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def deliver(raw, shop):
        with django_capture_on_commit_callbacks(execute=True):
            return ingest_raw(shop_ids=[shop.id], raw=raw, source="imap")

    return deliver


def _replied_ticket(world, deliver):
    """Return an email ticket from hanako@example.com and our queued reply on it."""
    deliver(make_mail(message_id="order-1@mail.example.com"), world.tea)
    with scopes_disabled():
        ticket = Ticket.objects.filter(shop=world.tea).order_by("-number").first()
    with in_shop(world.tea.id):
        # No on-commit callbacks run here: the reply stays queued, nothing is sent.
        reply = message_reply(
            actor=actor_for_user(world.operator_tea), ticket=ticket, body_text="お調べします。"
        )
    with scopes_disabled():
        outbound = OutboundMail.objects.get(message=reply)
    return ticket, reply, outbound


def _dsn_for(message_id: str, recipient: str, status: str = "5.1.1") -> bytes:
    return (
        RFC3464.replace(OURS.encode(), message_id.encode())
        .replace(b"louis@larry.slip.umd.edu", recipient.encode())
        .replace(b"Status: 4.0.0", f"Status: {status}".encode())
        .replace(f"<{SHOP}>".encode(), f"<{TEA_ADDRESS}>".encode())
    )


@pytest.mark.django_db
def test_permanent_bounce_fails_our_reply_and_marks_the_address(mail_world, deliver):
    ticket, reply, outbound = _replied_ticket(mail_world, deliver)
    tickets_before = _ticket_count(mail_world.tea)

    deliver(_dsn_for(outbound.internet_message_id, "hanako@example.com"), mail_world.tea)

    with scopes_disabled():
        reply.refresh_from_db()
        ticket.refresh_from_db()
        row = RawMail.objects.filter(shop=mail_world.tea).order_by("-id").first()
        identity = ContactIdentity.objects.get(
            shop=mail_world.tea, value_digest=identity_digest("email", "hanako@example.com")
        )
        payloads = list(
            Event.objects.filter(shop=mail_world.tea, type="mail.bounced").values_list(
                "ticket_id", "payload"
            )
        )
    assert _ticket_count(mail_world.tea) == tickets_before
    assert (row.status, row.outcome, row.ticket_id) == ("automated", "bounce", ticket.id)
    assert (reply.delivery_status, reply.delivery_error) == (Message.DeliveryStatus.FAILED, BOUNCED)
    assert ticket.has_failed_delivery is True
    assert identity.is_undeliverable is True
    assert payloads == [
        (
            ticket.id,
            {
                "raw_mail_id": row.id,
                "kind": "delivery_failure",
                "status": "5.1.1",
                "recipient": "hanako@example.com",
                "is_permanent": True,
            },
        )
    ]


@pytest.mark.django_db
def test_delayed_dsn_leaves_the_reply_and_address_alone(mail_world, deliver):
    _ticket, reply, outbound = _replied_ticket(mail_world, deliver)

    deliver(_dsn_for(outbound.internet_message_id, "hanako@example.com", "4.4.1"), mail_world.tea)

    with scopes_disabled():
        reply.refresh_from_db()
        identity = ContactIdentity.objects.get(
            shop=mail_world.tea, value_digest=identity_digest("email", "hanako@example.com")
        )
    assert reply.delivery_status == Message.DeliveryStatus.QUEUED
    assert identity.is_undeliverable is False


@pytest.mark.django_db
def test_complaint_joins_the_ticket_without_failing_anything(mail_world, deliver):
    ticket, reply, outbound = _replied_ticket(mail_world, deliver)
    raw = ARF_ABUSE.replace(OURS.encode(), outbound.internet_message_id.encode()).replace(
        b"Taro@Example.JP", b"hanako@example.com"
    )

    deliver(raw, mail_world.tea)

    with scopes_disabled():
        reply.refresh_from_db()
        row = RawMail.objects.filter(shop=mail_world.tea).order_by("-id").first()
        identity = ContactIdentity.objects.get(
            shop=mail_world.tea, value_digest=identity_digest("email", "hanako@example.com")
        )
    assert (row.outcome, row.ticket_id) == ("bounce", ticket.id)
    assert reply.delivery_status == Message.DeliveryStatus.QUEUED
    assert identity.is_undeliverable is False


@pytest.mark.django_db
def test_ses_bounce_finds_our_reply_through_its_json(mail_world, deliver):
    _ticket, reply, outbound = _replied_ticket(mail_world, deliver)
    raw = SES_BOUNCE.replace(OURS.encode(), outbound.internet_message_id.encode()).replace(
        b"Taro@example.jp", b"hanako@example.com"
    )

    deliver(raw, mail_world.tea)

    with scopes_disabled():
        reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.FAILED


@pytest.mark.django_db
def test_unknown_bounce_opens_no_ticket_and_is_listed(mail_world, deliver):
    before = _ticket_count(mail_world.tea)

    deliver(BARE_DAEMON, mail_world.tea)

    with scopes_disabled():
        row = RawMail.objects.get(shop=mail_world.tea)
        listed = list(unmatched_reports(shop=mail_world.tea))
        other = list(unmatched_reports(shop=mail_world.ceramics))
    assert _ticket_count(mail_world.tea) == before
    assert (row.status, row.outcome, row.ticket_id) == ("automated", "bounce", None)
    assert listed == [row]
    assert other == []


@pytest.mark.django_db
def test_a_person_writing_about_a_bounce_opens_a_ticket(mail_world, deliver):
    before = _ticket_count(mail_world.tea)

    deliver(make_mail(subject="email bounce notification"), mail_world.tea)

    with scopes_disabled():
        row = RawMail.objects.get(shop=mail_world.tea)
    assert (row.status, row.outcome) == ("processed", "created")
    assert _ticket_count(mail_world.tea) == before + 1


def _ticket_count(shop) -> int:
    with scopes_disabled():
        return Ticket.objects.filter(shop=shop).count()


@pytest.mark.django_db
def test_failed_delivery_list_shows_unmatched_bounces_to_the_shops_staff_only(
    client, mail_world, deliver
):
    from django.urls import reverse

    deliver(BARE_DAEMON, mail_world.tea)
    with scopes_disabled():
        row = RawMail.objects.get(shop=mail_world.tea)

    client.force_login(mail_world.operator_tea)
    page = client.get(reverse("mail:failed", args=["tea"]))
    client.force_login(mail_world.operator_ceramics)
    other = client.get(reverse("mail:failed", args=["tea"]))
    own = client.get(reverse("mail:failed", args=["ceramics"]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "チケットに紐付かない返送メール" in text
    assert "Mail delivery failed" in text
    assert reverse("mail:raw", args=["tea", row.id]) in text
    assert other.status_code == 404
    assert own.status_code == 200
    assert "Mail delivery failed" not in own.content.decode()
    assert "チケットに紐付かない返送メールはありません。" in own.content.decode()
