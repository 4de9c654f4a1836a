from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "madoguchi.conversations"
    label = "conversations"

    def ready(self) -> None:
        import datetime as dt

        from django.utils.translation import gettext_lazy as _

        from madoguchi.conversations.tasks import attachments_scan_sweep_task
        from madoguchi.core.scheduler import register_periodic

        register_periodic(
            "attachments_scan", dt.timedelta(minutes=2), attachments_scan_sweep_task.enqueue
        )

        from madoguchi.core import navigation
        from madoguchi.core.navigation import MenuEntry

        navigation.register_menu_entry(
            MenuEntry(
                section=navigation.WORK,
                label=_("Inbox"),
                url_name="conversations:inbox",
                per_shop=False,
                workspace_visible=lambda actor: bool(actor.shop_ids),
                order=0,
            )
        )
        navigation.register_menu_entry(
            MenuEntry(
                section=navigation.WORK,
                label=_("New ticket"),
                url_name="conversations:ticket_new",
                per_shop=False,
                workspace_visible=lambda actor: any(
                    actor.is_staff_for(shop_id) for shop_id in actor.shop_ids
                ),
                order=10,
            )
        )
