import datetime as dt

from django.apps import AppConfig
from django.conf import settings


class MailConfig(AppConfig):
    name = "madoguchi.connectors.mail"
    label = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        from madoguchi.connectors.mail.sending import reply_queue
        from madoguchi.connectors.mail.tasks import poll_mailboxes_task, sweep_mail_task
        from madoguchi.conversations.models import Channel
        from madoguchi.conversations.outbound import register_sender
        from madoguchi.core.scheduler import register_periodic

        register_sender(Channel.EMAIL, reply_queue)
        poll_seconds = settings.MADOGUCHI["MAIL_IMAP_POLL_SECONDS"]
        register_periodic(
            "mail_poll_mailboxes", dt.timedelta(seconds=poll_seconds), poll_mailboxes_task.enqueue
        )
        register_periodic("mail_sweep", dt.timedelta(minutes=1), sweep_mail_task.enqueue)
