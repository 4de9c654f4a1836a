"""Forms of the cart connection pages: they parse input; `commerce.connections` decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from madoguchi.commerce.models import CommerceConnection

# The services' refusals, shown translated on the forms (`core.service_forms.error_text`).
SERVICE_MESSAGES = (
    gettext_noop("Only a supervisor or admin may manage cart connections."),
    gettext_noop("Enter the store's domain, for example tea.myshopify.com."),
    gettext_noop("Enter the store's myshopify.com domain, for example tea.myshopify.com."),
    gettext_noop("Paste the webhook signing secret from Shopify as it is shown there."),
    gettext_noop("The shop already has a connection to this store."),
    gettext_noop("Choose Shopify or EC-CUBE."),
    gettext_noop("EC-CUBE's secret is generated here: renew it instead."),
    gettext_noop("For EC-CUBE leave the secret empty: one is generated."),
    gettext_noop("Choose what to renew: the webhook URL, the secret, or both."),
    gettext_noop("Shopify's secret comes from Shopify: paste the new one instead."),
    gettext_noop("This connection has received deliveries: deactivate it instead."),
)

SECRET_WIDGET = forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False)


class ConnectionCreateForm(forms.Form):
    platform = forms.ChoiceField(
        label=_("Platform"),
        choices=CommerceConnection.Platform.choices,
        widget=forms.RadioSelect,
        initial=CommerceConnection.Platform.SHOPIFY,
    )
    store_domain = forms.CharField(
        label=_("Store domain"),
        max_length=255,
        help_text=_("Shopify: the myshopify.com domain, for example tea.myshopify.com."),
    )
    webhook_secret = forms.CharField(
        label=_("Webhook signing secret (Shopify)"),
        required=False,
        max_length=255,
        widget=SECRET_WIDGET,
        help_text=_(
            "Shopify shows it with the store's webhooks. For EC-CUBE leave it empty: a secret"
            " is generated and shown once."
        ),
    )


class ConnectionEditForm(forms.Form):
    store_domain = forms.CharField(label=_("Store domain"), max_length=255)
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("An inactive connection answers its webhook URL with 404."),
    )
    webhook_secret = forms.CharField(
        label=_("New webhook signing secret"),
        required=False,
        max_length=255,
        widget=SECRET_WIDGET,
        help_text=_("Leave empty to keep the current secret."),
    )

    def __init__(self, *args: Any, platform: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if platform != CommerceConnection.Platform.SHOPIFY:
            # EC-CUBE's secret is generated: it is renewed, never typed.
            del self.fields["webhook_secret"]
