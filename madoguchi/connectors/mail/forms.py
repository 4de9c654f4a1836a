"""Forms of the email channel's set-up pages: they parse input; the services decide."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from madoguchi.connectors.mail.dns_records import is_loopback
from madoguchi.connectors.mail.models import ConnectionSecurity, MailAddress, Mailbox, SmtpServer

# The services' refusals, shown translated on the forms (`core.service_forms.error_text`).
SERVICE_MESSAGES = (
    gettext_noop("Only a supervisor or admin may set up the email channel."),
    gettext_noop("This address already belongs to a shop."),
    gettext_noop("The shop already has an outgoing server of this name."),
    gettext_noop("The mailbox belongs to another shop."),
    gettext_noop("The outgoing server belongs to another shop."),
    gettext_noop("Enter the password."),
    gettext_noop("Only a failed mail that was composed can be sent again."),
)

SECRET_WIDGET = forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False)
SAVED_SECRET_HELP = _("Saved (type only to change it)")
HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?")


def _is_ipv6_literal(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).version == 6
    except ValueError:
        return False


class _ServerForm(forms.Form):
    """The connection fields a mailbox and an outgoing server share."""

    host = forms.CharField(
        label=_("Host"),
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535)
    security = forms.ChoiceField(label=_("Encryption"), choices=ConnectionSecurity.choices)
    username = forms.CharField(
        label=_("User name"),
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Password or app password"), max_length=1000, required=False, widget=SECRET_WIDGET
    )

    def __init__(self, *args: Any, has_saved_password: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_saved_password = has_saved_password
        if has_saved_password:
            self.fields["password"].help_text = SAVED_SECRET_HELP

    def clean_host(self) -> str:
        host = str(self.cleaned_data["host"]).strip()
        if _is_ipv6_literal(host):
            return host.strip("[]")
        if not HOST_NAME.fullmatch(host):
            raise forms.ValidationError(
                _("Enter only the host name, for example imap.example.jp (no port or URL).")
            )
        return host.lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        host = cleaned.get("host")
        security = cleaned.get("security")
        if (
            host
            and security == ConnectionSecurity.NONE
            and cleaned.get("username")
            and not is_loopback(str(host))
        ):
            # Without TLS the password would cross the network in plain text.
            self.add_error(
                "security",
                _(
                    "Without encryption the password would travel in plain text: choose SSL/TLS or "
                    "STARTTLS (no encryption is only for a server on this machine)."
                ),
            )
        return cleaned


class MailboxForm(_ServerForm):
    name = forms.CharField(
        label=pgettext_lazy("mailbox", "Name"),
        max_length=100,
        help_text=_("For you only, for example “Support inbox”."),
    )
    folder = forms.CharField(label=_("Folder"), max_length=255, initial="INBOX")
    processed_folder = forms.CharField(
        label=_("Move processed mail to"),
        max_length=255,
        required=False,
        help_text=_("Empty: processed mail stays and is flagged."),
    )
    is_active = forms.BooleanField(label=_("Active (fetch mail)"), required=False, initial=True)

    field_order = [
        "name",
        "host",
        "port",
        "security",
        "username",
        "password",
        "folder",
        "processed_folder",
        "is_active",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["port"].initial = 993
        self.fields["security"].initial = ConnectionSecurity.SSL
        self.fields["port"].help_text = _("IMAP: 993 with SSL/TLS, 143 with STARTTLS.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("password") and not self.has_saved_password:
            self.add_error("password", _("Enter the password."))
        return cleaned


def mailbox_initial(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "name": mailbox.name,
        "host": mailbox.host,
        "port": mailbox.port,
        "security": mailbox.security,
        "username": mailbox.username,
        "folder": mailbox.folder,
        "processed_folder": mailbox.processed_folder,
        "is_active": mailbox.is_active,
    }


class SmtpServerForm(_ServerForm):
    name = forms.CharField(
        label=pgettext_lazy("mail server", "Name"),
        max_length=100,
        help_text=_("For you only, for example “Provider SMTP”."),
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("An inactive server is skipped: its addresses send through the system's."),
    )

    field_order = ["name", "host", "port", "security", "username", "password", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["port"].initial = 587
        self.fields["security"].initial = ConnectionSecurity.STARTTLS
        self.fields["port"].help_text = _(
            "Submission: 587 with STARTTLS, 465 with SSL/TLS; 25 for a relay without login."
        )
        self.fields["username"].required = False
        self.fields["username"].help_text = _("Empty: the server needs no login.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("username") and not cleaned.get("password") and not self.has_saved_password:
            self.add_error("password", _("Enter the password."))
        return cleaned


def smtp_server_initial(server: SmtpServer) -> dict[str, Any]:
    return {
        "name": server.name,
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "username": server.username,
        "is_active": server.is_active,
    }


class _NamedChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Offers a mailbox or server by its name and where it connects."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.username + '@' if obj.username else ''}{obj.host})"


class MailAddressForm(forms.Form):
    address = forms.EmailField(
        label=pgettext_lazy("mail", "Address"),
        max_length=254,
        help_text=_("The address customers write to, for example support@shop.example.jp."),
    )
    display_name = forms.CharField(
        label=_("Sender name"),
        max_length=200,
        required=False,
        help_text=_("Shown as the sender of replies, for example the shop's name."),
    )
    is_default_sender = forms.BooleanField(label=_("Default sender"), required=False)
    is_verified = forms.BooleanField(
        label=_("Verified sender"),
        required=False,
        help_text=_(
            "Replies go out only from a verified address: check it once the outgoing server "
            "may send as this address (see the DNS records below)."
        ),
    )
    inbound_method = forms.ChoiceField(
        label=_("How mail arrives"),
        choices=MailAddress.InboundMethod.choices,
        widget=forms.RadioSelect,
        initial=MailAddress.InboundMethod.IMAP,
    )
    mailbox = _NamedChoiceField(
        label=_("Mailbox (IMAP)"),
        queryset=Mailbox.objects.none(),
        required=False,
        empty_label=_("(choose a mailbox)"),
    )
    outbound_server = _NamedChoiceField(
        label=_("Outgoing server (SMTP)"),
        queryset=SmtpServer.objects.none(),
        required=False,
        empty_label=_("System default (EMAIL_* settings)"),
    )

    def __init__(
        self,
        *args: Any,
        mailboxes: QuerySet[Mailbox],
        servers: QuerySet[SmtpServer],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        mailbox_field = self.fields["mailbox"]
        assert isinstance(mailbox_field, forms.ModelChoiceField)
        mailbox_field.queryset = mailboxes
        server_field = self.fields["outbound_server"]
        assert isinstance(server_field, forms.ModelChoiceField)
        server_field.queryset = servers

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        method = cleaned.get("inbound_method")
        if method == MailAddress.InboundMethod.IMAP and cleaned.get("mailbox") is None:
            self.add_error(
                "mailbox",
                _("Choose the mailbox this address's mail arrives in (add one first if needed)."),
            )
        if method == MailAddress.InboundMethod.SMTP:
            cleaned["mailbox"] = None
        return cleaned


def address_initial(address: MailAddress) -> dict[str, Any]:
    return {
        "address": address.address,
        "display_name": address.display_name,
        "is_default_sender": address.is_default_sender,
        "is_verified": address.is_verified,
        "inbound_method": address.inbound_method,
        "mailbox": address.mailbox_id,
        "outbound_server": address.outbound_server_id,
    }


class TestSendForm(forms.Form):
    to_address = forms.EmailField(
        label=_("Send a test mail to"),
        max_length=254,
        help_text=_("An address of yours: the mail goes out for real."),
    )
