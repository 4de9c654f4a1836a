import datetime as dt

from django.apps import AppConfig


class CsatConfig(AppConfig):
    name = "madoguchi.csat"
    label = "csat"

    def ready(self) -> None:
        from madoguchi.connectors.line.extensions import (
            register_postback_handler,
            register_quick_reply_source,
        )
        from madoguchi.conversations.ticket_panels import register_ticket_panel
        from madoguchi.core.scheduler import register_periodic
        from madoguchi.csat import line, menu
        from madoguchi.csat.panels import PANEL
        from madoguchi.csat.tasks import send_due_surveys_task

        register_periodic("csat_surveys", dt.timedelta(minutes=1), send_due_surveys_task.enqueue)
        register_quick_reply_source(line.survey_quick_replies)
        register_postback_handler(line.POSTBACK_PREFIX, line.survey_postback)
        register_ticket_panel(PANEL)
        menu.register()
