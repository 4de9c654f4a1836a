"""The administration pages in the one menu (`core.navigation`)."""

from django.utils.translation import gettext_lazy as _

from madoguchi.core import navigation


def register() -> None:
    navigation.register_menu_section(navigation.WORKSPACE, _("Workspace"))
    navigation.register_menu_section(navigation.SHOP_SETTINGS, _("Shop settings"))
    navigation.register_menu_section(navigation.CHANNELS, _("Channels"))
