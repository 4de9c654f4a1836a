from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "madoguchi.conversations"
    label = "conversations"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

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
