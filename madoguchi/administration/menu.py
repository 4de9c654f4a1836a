"""The administration pages in the one menu (`core.navigation`)."""

from django.utils.translation import gettext_lazy as _

from madoguchi.core import navigation


def register() -> None:
    navigation.register_menu_section(navigation.WORK, _("Tickets"))
    navigation.register_menu_section(navigation.CUSTOMERS, _("Customers"))
    navigation.register_menu_section(navigation.COMMERCE, _("Orders"))
    navigation.register_menu_section(navigation.OPERATIONS, _("Operations"))
    navigation.register_menu_section(navigation.REPORTS, _("Reports"))
    navigation.register_menu_section(navigation.WORKSPACE, _("Workspace"))
    navigation.register_menu_section(navigation.SHOP_SETTINGS, _("Shop settings"))
    navigation.register_menu_section(navigation.CHANNELS, _("Channels"))
