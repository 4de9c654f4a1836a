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

    # Channels: the overview for the shop's staff; email's state is registered here (the mail
    # connector's status function reads its rows), the other connectors register their own.
    from madoguchi.connectors.mail.channel_status import mail_state
    from madoguchi.core.channel_status import ChannelKind, register_channel

    register_channel(
        ChannelKind(
            key="email",
            label=_("Email"),
            settings_url_name="mail:addresses",
            status=mail_state,
            order=10,
        )
    )
    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.CHANNELS,
            label=_("Channels overview"),
            url_name="administration:channels",
            visible=lambda actor, shop_id: actor.is_staff_for(shop_id),
            order=1,
        )
    )

    # People: admins and supervisors of a workspace (supervisors read only). The actor carries
    # its role per workspace, so the check costs no query.
    from madoguchi.tenancy.access import LEAD_ROLES

    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.WORKSPACE,
            label=_("People"),
            url_name="administration:people",
            per_shop=False,
            workspace_visible=lambda actor: any(
                role in LEAD_ROLES for role in actor.workspace_roles.values()
            ),
            order=30,
        )
    )

    # Workspace, shops, engagements, categories and tags (shop_views): leads see them, admins
    # change them; operators and clients have no use for them.
    from madoguchi.tenancy.selectors import leads_some_workspace

    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.WORKSPACE,
            label=_("Workspace & shops"),
            url_name="administration:workspace",
            per_shop=False,
            workspace_visible=leads_some_workspace,
            order=10,
        )
    )
    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.SHOP_SETTINGS,
            label=_("Shop"),
            url_name="administration:shop_edit",
            visible=lambda actor, shop_id: actor.is_lead_for(shop_id),
            order=10,
        )
    )
    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.SHOP_SETTINGS,
            label=_("Categories & tags"),
            url_name="administration:taxonomy",
            visible=lambda actor, shop_id: actor.is_lead_for(shop_id),
            order=20,
        )
    )
