"""The audit log in the one menu (`core.navigation`): for the admins and clients of a workspace."""

from django.utils.translation import gettext_lazy as _

from madoguchi.audit.selectors import reads_an_audit_log
from madoguchi.core import navigation


def register() -> None:
    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.WORKSPACE,
            label=_("Audit log"),
            url_name="audit:log",
            per_shop=False,
            workspace_visible=reads_an_audit_log,
            order=910,
        )
    )
