"""The accounts pages in the one menu (`core.navigation`); a user's own pages hang off the
name in the top bar."""

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.selectors import leads_a_workspace
from madoguchi.core import navigation


def register() -> None:
    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.WORKSPACE,
            label=_("Security"),
            url_name="accounts:workspace_security",
            per_shop=False,
            workspace_visible=leads_a_workspace,
            order=900,
        )
    )
