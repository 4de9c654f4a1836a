"""Checklist 8: the sender of an oversized mail is told, and nothing of it reaches a ticket.

Mail that comes straight to Madoguchi (`madoguchi smtpd`) is refused during the SMTP dialogue
with a permanent 552: the sending server then returns its own non-delivery report to the sender,
exactly once per mail (the postmaster notice of reference/security.md, without backscatter from
us). Mail that the shop's own server already accepted (IMAP, `mail import`) cannot be refused
any more, so Madoguchi sends nothing (a notice would go to a possibly forged sender) and
quarantines it instead, which security.md allows as the equivalent: kept raw, not processed,
listed to the shop's staff on the failed-mail page.
"""

from __future__ import annotations

import smtplib
from typing import Any

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from madoguchi.connectors.mail.models import OutboundMail, RawMail
from madoguchi.connectors.mail.smtpd import make_controller
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup, make_mail
from madoguchi.connectors.mail.tests.test_import_limits import run_import, with_attachment
from madoguchi.core.testing.mailservers import free_port

LIMIT = 10_000


@pytest.mark.django_db(transaction=True)
def test_the_receiver_refuses_an_oversized_mail_permanently_and_takes_the_next(
    world: Any, settings: Any
) -> None:
    settings.EMAIL_PORT = free_port()  # acknowledgements stay queued
    settings.MADOGUCHI = {**settings.MADOGUCHI, "MAIL_MAX_BYTES": LIMIT}
    mail_setup(world)
    big = with_attachment("big@x", 3 * LIMIT).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    port = free_port()
    controller = make_controller(host="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo()
            assert client.has_extn("size")
            assert int(client.esmtp_features["size"]) == LIMIT
            # Announced with SIZE: refused before the data is sent.
            with pytest.raises(smtplib.SMTPSenderRefused) as announced:
                client.sendmail("hanako@example.com", [TEA_ADDRESS], big)
            client.rset()
            # Sent without SIZE: refused after the data, still permanently.
            client.esmtp_features.pop("size")
            with pytest.raises(smtplib.SMTPDataError) as streamed:
                client.sendmail("hanako@example.com", [TEA_ADDRESS], big)
            client.rset()
            # The connection (and the mailbox) go on.
            assert client.sendmail("hanako@example.com", [TEA_ADDRESS], make_mail()) == {}
    finally:
        controller.stop()
    assert announced.value.smtp_code == 552
    assert streamed.value.smtp_code == 552
    with scopes_disabled():
        assert list(RawMail.objects.values_list("idempotency_key", "outcome")) == [
            ("first@mail.example.com", "created")
        ]


@pytest.mark.django_db
def test_an_accepted_oversized_mail_is_quarantined_for_staff_and_nobody_is_mailed(
    world: Any, settings: Any, tmp_path: Any, capsys: Any, client: Any
) -> None:
    settings.EMAIL_PORT = 9
    settings.MADOGUCHI = {**settings.MADOGUCHI, "MAIL_MAX_BYTES": LIMIT}
    mail_setup(world)
    for name in ("one", "two"):
        (tmp_path / f"{name}.eml").write_bytes(with_attachment(f"{name}@x", 3 * LIMIT))
    summary = run_import(capsys, tmp_path / "one.eml", tmp_path / "two.eml")
    assert summary["too_large"] == 2
    with scopes_disabled():
        assert not OutboundMail.objects.exists()  # no notice, no acknowledgement
        rows = list(RawMail.objects.filter(outcome="oversize"))
    assert [(row.status, row.ticket_id) for row in rows] == [("failed", None)] * 2

    client.force_login(world.operator_tea)
    page = client.get(reverse("mail:failed", args=["tea"]))
    assert page.status_code == 200
    text = page.content.decode()
    for row in rows:
        assert reverse("mail:raw", args=["tea", row.id]) in text
    assert "サイズ" in text  # the reason, in Japanese
    # Another shop's staff see none of it.
    client.force_login(world.operator_ceramics)
    assert client.get(reverse("mail:failed", args=["tea"])).status_code == 404
