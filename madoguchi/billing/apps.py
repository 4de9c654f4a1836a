import datetime as dt

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "madoguchi.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from madoguchi.billing import menu
        from madoguchi.billing.tasks import billing_monthly_run_task, billing_usage_alerts_task
        from madoguchi.core.scheduler import register_periodic

        # Daily: the run makes last month's drafts on the 1st and catches up on any day a run
        # was missed (it skips months already drafted).
        register_periodic(
            "billing_monthly_run", dt.timedelta(days=1), billing_monthly_run_task.enqueue
        )
        register_periodic(
            "billing_usage_alerts", dt.timedelta(hours=1), billing_usage_alerts_task.enqueue
        )
        menu.register()
