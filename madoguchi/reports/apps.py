import datetime as dt

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "madoguchi.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from madoguchi.core.scheduler import register_periodic
        from madoguchi.reports import menu
        from madoguchi.reports.tasks import monthly_reports_task

        # Hourly: the 1st begins at a different instant in each shop's time zone.
        register_periodic("monthly_reports", dt.timedelta(hours=1), monthly_reports_task.enqueue)
        menu.register()
