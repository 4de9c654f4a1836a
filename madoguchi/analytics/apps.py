import datetime as dt

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "madoguchi.analytics"
    label = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from madoguchi.analytics import menu
        from madoguchi.analytics.tasks import analytics_apply_task
        from madoguchi.core.scheduler import register_periodic

        register_periodic("analytics", dt.timedelta(minutes=1), analytics_apply_task.enqueue)
        menu.register()
