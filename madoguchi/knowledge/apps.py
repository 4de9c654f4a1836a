import datetime as dt

from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "madoguchi.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        from madoguchi.core.scheduler import register_periodic
        from madoguchi.knowledge import menu
        from madoguchi.knowledge.tasks import faq_candidates_refresh_task

        register_periodic(
            "knowledge_faq_candidates", dt.timedelta(hours=6), faq_candidates_refresh_task.enqueue
        )
        menu.register()
