import datetime as dt

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "madoguchi.operations"
    label = "operations"

    def ready(self) -> None:
        from madoguchi.conversations.hooks import register_inbound_batch_hook
        from madoguchi.core.scheduler import register_periodic
        from madoguchi.operations import menu
        from madoguchi.operations.replies import after_hours_reply_batch
        from madoguchi.operations.tasks import process_operations

        register_periodic("operations", dt.timedelta(seconds=10), process_operations.enqueue)
        register_inbound_batch_hook(after_hours_reply_batch)
        menu.register()
