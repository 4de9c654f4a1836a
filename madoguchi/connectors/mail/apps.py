import datetime as dt

from django.apps import AppConfig
from django.conf import settings


class MailConfig(AppConfig):
    name = "madoguchi.connectors.mail"
    label = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        from madoguchi.connectors.mail.sending import reply_queue
        from madoguchi.connectors.mail.services import reply_can_retry, reply_retry
        from madoguchi.connectors.mail.tasks import poll_mailboxes_task, sweep_mail_task
        from madoguchi.conversations.models import Channel
        from madoguchi.conversations.outbound import register_retry, register_sender
        from madoguchi.core.scheduler import register_periodic

        register_sender(Channel.EMAIL, reply_queue)
        # Web-form replies go out by mail too (`webform.sending`): the same retry applies.
        for channel in (Channel.EMAIL, Channel.WEB_FORM):
            register_retry(channel, can_retry=reply_can_retry, retry=reply_retry)
        poll_seconds = settings.MADOGUCHI["MAIL_IMAP_POLL_SECONDS"]
        register_periodic(
            "mail_poll_mailboxes", dt.timedelta(seconds=poll_seconds), poll_mailboxes_task.enqueue
        )
        register_periodic("mail_sweep", dt.timedelta(minutes=1), sweep_mail_task.enqueue)
        from madoguchi.connectors.mail.recovery import outbound_recover, raw_mail_recover
        from madoguchi.core.workers import register_recovery

        register_recovery("raw_mail", raw_mail_recover)
        register_recovery("outbound_mail", outbound_recover)
        from madoguchi.connectors.mail.panels import PANEL
        from madoguchi.conversations.ticket_panels import register_ticket_panel

        register_ticket_panel(PANEL)
        _register_menu()


def _register_menu() -> None:
    """The mail pages in the one menu: set-up pages for leads, the queues for all staff."""
    from django.utils.translation import gettext_lazy as _

    from madoguchi.connectors.mail.selectors import failed_send_count
    from madoguchi.core import navigation
    from madoguchi.core.navigation import MenuCount, MenuEntry
    from madoguchi.tenancy.access import Actor

    def is_lead(actor: Actor, shop_id: int) -> bool:
        return actor.is_lead_for(shop_id)

    def is_staff(actor: Actor, shop_id: int) -> bool:
        return actor.is_staff_for(shop_id)

    entries = [
        (_("Email"), "mail:addresses", is_lead, 10),
        (_("Mailboxes (IMAP)"), "mail:mailboxes", is_lead, 11),
        (_("Outgoing servers (SMTP)"), "mail:smtp_servers", is_lead, 12),
        (_("Mail settings"), "mail:settings", is_lead, 13),
        (_("Outbox"), "mail:outbox", is_staff, 14),
        (_("Failed mail"), "mail:failed", is_staff, 15),
    ]
    for label, url_name, visible, order in entries:
        navigation.register_menu_entry(
            MenuEntry(
                section=navigation.CHANNELS,
                label=label,
                url_name=url_name,
                visible=visible,
                order=order,
            )
        )
    navigation.register_menu_count(
        MenuCount(
            name="failed_sends",
            label=_("Failed sends"),
            url_name="mail:outbox",
            count=lambda actor, shop_id: failed_send_count(actor=actor, shop_id=shop_id),
        )
    )
