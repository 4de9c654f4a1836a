import datetime as dt

from django.apps import AppConfig


class LineConfig(AppConfig):
    name = "madoguchi.connectors.line"
    label = "line"
    verbose_name = "LINE"

    def ready(self) -> None:
        from madoguchi.connectors.line.sending import reply_queue
        from madoguchi.connectors.line.tasks import sweep_line_task
        from madoguchi.conversations.models import Channel
        from madoguchi.conversations.outbound import register_sender
        from madoguchi.core.scheduler import register_periodic

        register_sender(Channel.LINE, reply_queue)
        register_periodic("line_sweep", dt.timedelta(minutes=1), sweep_line_task.enqueue)
