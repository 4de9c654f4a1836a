"""The demo's mail sink (`madoguchi serve --mail-sink HOST:PORT`) and the demo's mail set-up."""

import smtplib

import pytest
from django.conf import settings as django_settings
from django.core.management.base import CommandError

from madoguchi.connectors.mail.models import MailAddress, OutboundMail, SmtpServer
from madoguchi.connectors.mail.sink import make_sink, parse_address
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import message_reply
from madoguchi.core.management.commands.serve import Command as ServeCommand
from madoguchi.core.testing.mailservers import free_port
from madoguchi.demo import content
from madoguchi.demo.seed import seed_demo
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped


def test_the_sink_accepts_any_mail_and_keeps_it_as_a_file(tmp_path):
    port = free_port()
    sink = make_sink(host="127.0.0.1", port=port, directory=tmp_path / "mail-sink")
    sink.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo()
            client.mail("support@yamada-en.example")
            recipients = [client.rcpt(to)[0] for to in ("anyone@example.com", "x@example.org")]
            code, reply = client.data(b"Subject: test\r\n\r\nhello\r\n")
    finally:
        sink.stop()

    [stored] = sorted((tmp_path / "mail-sink").iterdir())
    assert (recipients, code) == ([250, 250], 250)
    assert reply.decode() == f"2.0.0 Ok: stored as {stored.name} (mail sink, not delivered)"
    assert stored.suffix == ".eml"
    assert stored.read_bytes() == b"Subject: test\r\n\r\nhello\r\n"


def test_the_serve_option_is_off_by_default_and_checks_its_address(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    command = ServeCommand()
    parser = command.create_parser("madoguchi", "serve")
    port = free_port()

    assert parser.parse_args([]).mail_sink is None
    assert parser.parse_args(["--mail-sink", f"127.0.0.1:{port}"]).mail_sink == f"127.0.0.1:{port}"
    with pytest.raises(CommandError, match="expected HOST:PORT"):
        command._start_mail_sink("127.0.0.1")
    sink = command._start_mail_sink(f"127.0.0.1:{port}")
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\ny\r\n")
    finally:
        sink.stop()
    assert len(list((tmp_path / "mail-sink").iterdir())) == 1
    assert parse_address("[::1]:2525") == ("::1", 2525)


@pytest.mark.django_db
def test_the_demo_shops_send_through_the_sink_and_old_replies_stay_unsent(
    smtp_capture, django_capture_on_commit_callbacks
):
    seed_demo()
    seed_demo()  # idempotent

    with unscoped("test: inspect the demo's mail set-up"):
        addresses = {
            address.shop.slug: address
            for address in MailAddress.objects.select_related("shop", "outbound_server")
        }
        servers = list(SmtpServer.objects.values_list("host", "port", "security", "username"))
        outbox = OutboundMail.objects.count()
        mailed = set(
            Message.objects.filter(direction="outbound", channel__in=["email", "web_form"])
            .values_list("delivery_status", flat=True)
            .distinct()
        )
    assert {slug: address.address for slug, address in addresses.items()} == {
        "tea": content.MAIL["tea"].address,
        "ceramics": content.MAIL["ceramics"].address,
    }
    assert all(a.is_verified and a.is_default_sender for a in addresses.values())
    assert all(a.inbound_method == "smtp" for a in addresses.values())
    # The sink is where the settings send mail (`make demo`: EMAIL_PORT 1025, its --mail-sink).
    assert servers == [(django_settings.EMAIL_HOST, django_settings.EMAIL_PORT, "none", "")] * 2
    assert (outbox, mailed) == (0, {"stored"})  # seeded replies were never mailed

    # A reply written in the demo goes out through the shop's server (here: our capture).
    tea = addresses["tea"]
    with unscoped("test: point the demo server at the capture"):
        SmtpServer.objects.filter(pk=tea.outbound_server_id).update(port=smtp_capture.port)
        ticket = Ticket.objects.filter(shop=tea.shop, channel="email").order_by("number").first()
        operator = actor_for_user(_demo_user("operator"))
    with in_shop(tea.shop_id), django_capture_on_commit_callbacks(execute=True):
        message = message_reply(actor=operator, ticket=ticket, body_text="デモの返信です。")
    with in_shop(tea.shop_id):
        message.refresh_from_db()
        row = OutboundMail.objects.get(message=message)
    assert (message.delivery_status, row.status) == ("sent", "sent")
    assert smtp_capture.received[0].mail_from == content.MAIL["tea"].address


def _demo_user(key):
    from madoguchi.accounts.models import User

    person = next(person for person in content.PEOPLE if person.key == key)
    return User.objects.get(email=person.email)
