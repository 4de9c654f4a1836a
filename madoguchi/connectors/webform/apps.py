import datetime as dt

from django.apps import AppConfig


class WebformConfig(AppConfig):
    name = "madoguchi.connectors.webform"
    label = "webform"
    verbose_name = "Web form"

    def ready(self) -> None:
        from madoguchi.connectors.webform.sending import reply_queue
        from madoguchi.connectors.webform.tasks import sweep_submissions_task
        from madoguchi.conversations.models import Channel
        from madoguchi.conversations.outbound import register_sender
        from madoguchi.core.scheduler import register_periodic

        register_sender(Channel.WEB_FORM, reply_queue)
        register_periodic("webform_sweep", dt.timedelta(minutes=1), sweep_submissions_task.enqueue)
