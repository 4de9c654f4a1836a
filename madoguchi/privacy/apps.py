import datetime as dt

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "madoguchi.privacy"
    label = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        from madoguchi.core.scheduler import register_periodic
        from madoguchi.privacy import menu
        from madoguchi.privacy.tasks import retention_run_due_task

        register_periodic("privacy_retention", dt.timedelta(days=1), retention_run_due_task.enqueue)
        menu.register()
