"""Writes that set a shop's email channel up: addresses, IMAP mailboxes, outgoing SMTP servers.

Admins and supervisors of the shop make these changes; each is audited with before and after
values, except secrets, which the audit names as "changed". A password left empty keeps the
stored one (`keep_secret`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.connectors.mail.diagnostics import ConnectionCheck, mailbox_check, smtp_server_try
from madoguchi.connectors.mail.models import MailAddress, Mailbox, SmtpServer
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.secrets import keep_secret
from madoguchi.customers.normalize import normalize_email
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped

SECRET_CHANGED = "changed"  # noqa: S105 - what the audit says instead of a secret
LEAD_ONLY = "Only a supervisor or admin may set up the email channel."
# Changing where a mailbox points makes its remembered UIDs meaningless: poll it afresh (the
# unique key keeps mail stored before from coming back).
_MAILBOX_IDENTITY = ("host", "port", "username", "folder")


def require_lead(*, actor: Actor, shop_id: int) -> None:
    """Raise unless the actor is an admin or supervisor of the shop."""
    require_staff(actor=actor, shop_id=shop_id)
    if not actor.is_lead_for(shop_id):
        raise PermissionDeniedError(LEAD_ONLY)


def _audit_value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    return value


def _apply(instance: models.Model, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the values on the instance; return the changes as {field: [before, after]}."""
    changes: dict[str, list[Any]] = {}
    for name, value in values.items():
        before = getattr(instance, name)
        if before != value:
            changes[name] = [_audit_value(before), _audit_value(value)]
            setattr(instance, name, value)
    return changes


def _snapshot(instance: models.Model, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _audit_value(getattr(instance, name)) for name in names}


def _delete_audited(
    *,
    actor: Actor,
    instance: MailAddress | Mailbox | SmtpServer,
    action: str,
    fields: tuple[str, ...],
) -> None:
    """Delete a row of the shop's mail setup (leads only); the audit keeps what it was."""
    require_lead(actor=actor, shop_id=instance.shop_id)
    changes = {name: [value, None] for name, value in _snapshot(instance, fields).items()}
    record(actor=actor.user, action=action, target=instance, changes=changes)
    instance.delete()


# Addresses --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressInput:
    """What the address form says about one address."""

    address: str
    display_name: str
    is_default_sender: bool
    is_verified: bool
    inbound_method: str
    mailbox: Mailbox | None
    outbound_server: SmtpServer | None


_ADDRESS_FIELDS = (
    "address",
    "display_name",
    "is_default_sender",
    "is_verified",
    "inbound_method",
    "mailbox",
    "outbound_server",
)


def _address_values(shop: Shop, data: AddressInput, *, exclude_id: int | None) -> dict[str, Any]:
    address = normalize_email(data.address)
    with unscoped("an address belongs to one shop among all shops"):
        same = MailAddress.objects.filter(address=address)
        taken = (same.exclude(pk=exclude_id) if exclude_id else same).exists()
    if taken:
        raise ValidationError("This address already belongs to a shop.")
    if data.mailbox is not None and data.mailbox.shop_id != shop.id:
        raise ValidationError("The mailbox belongs to another shop.")
    if data.outbound_server is not None and data.outbound_server.shop_id != shop.id:
        raise ValidationError("The outgoing server belongs to another shop.")
    is_imap = data.inbound_method == MailAddress.InboundMethod.IMAP
    return {
        "address": address,
        "display_name": " ".join(data.display_name.split()),
        "is_default_sender": data.is_default_sender,
        "is_verified": data.is_verified,
        "inbound_method": data.inbound_method,
        "mailbox": data.mailbox if is_imap else None,
        "outbound_server": data.outbound_server,
    }


def _keep_one_default_sender(*, actor: Actor, address: MailAddress) -> None:
    if not address.is_default_sender:
        return
    others = MailAddress.objects.filter(shop_id=address.shop_id, is_default_sender=True).exclude(
        pk=address.pk
    )
    for other in others:
        other.is_default_sender = False
        other.save(update_fields=["is_default_sender"])
        record(
            actor=actor.user,
            action=actions.MAIL_ADDRESS_CHANGED,
            target=other,
            changes={"is_default_sender": [True, False]},
        )


@transaction.atomic
def mail_address_create(*, actor: Actor, shop: Shop, data: AddressInput) -> MailAddress:
    """Add a support address to the shop (one shop per address, one default sender)."""
    require_lead(actor=actor, shop_id=shop.id)
    address = MailAddress(shop=shop, **_address_values(shop, data, exclude_id=None))
    address.save()
    _keep_one_default_sender(actor=actor, address=address)
    record(
        actor=actor.user,
        action=actions.MAIL_ADDRESS_CREATED,
        target=address,
        changes={
            name: [None, value] for name, value in _snapshot(address, _ADDRESS_FIELDS).items()
        },
    )
    return address


@transaction.atomic
def mail_address_update(*, actor: Actor, address: MailAddress, data: AddressInput) -> MailAddress:
    """Change a support address; the audit holds the before and after values."""
    require_lead(actor=actor, shop_id=address.shop_id)
    changes = _apply(address, _address_values(address.shop, data, exclude_id=address.pk))
    if changes:
        address.save()
        _keep_one_default_sender(actor=actor, address=address)
        record(
            actor=actor.user, action=actions.MAIL_ADDRESS_CHANGED, target=address, changes=changes
        )
    return address


@transaction.atomic
def mail_address_delete(*, actor: Actor, address: MailAddress) -> None:
    """Remove a support address: mail to it is no longer accepted for the shop."""
    _delete_audited(
        actor=actor, instance=address, action=actions.MAIL_ADDRESS_DELETED, fields=_ADDRESS_FIELDS
    )


# Mailboxes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxInput:
    name: str
    host: str
    port: int
    security: str
    username: str
    password: str  # empty: keep the stored one
    folder: str
    processed_folder: str
    is_active: bool


_MAILBOX_FIELDS = (
    "name",
    "host",
    "port",
    "security",
    "username",
    "folder",
    "processed_folder",
    "is_active",
)


def _mailbox_values(data: MailboxInput) -> dict[str, Any]:
    return {
        "name": data.name.strip(),
        "host": data.host.strip(),
        "port": data.port,
        "security": data.security,
        "username": data.username.strip(),
        "folder": data.folder.strip() or "INBOX",
        "processed_folder": data.processed_folder.strip(),
        "is_active": data.is_active,
    }


@transaction.atomic
def mailbox_create(*, actor: Actor, shop: Shop, data: MailboxInput) -> Mailbox:
    """Add an IMAP mailbox the shop's mail is fetched from."""
    require_lead(actor=actor, shop_id=shop.id)
    if not data.password:
        raise ValidationError("Enter the password.")
    mailbox = Mailbox(shop=shop, password=data.password, **_mailbox_values(data))
    mailbox.save()
    changes: dict[str, Any] = {
        name: [None, value] for name, value in _snapshot(mailbox, _MAILBOX_FIELDS).items()
    }
    changes["password"] = SECRET_CHANGED
    record(actor=actor.user, action=actions.MAILBOX_CREATED, target=mailbox, changes=changes)
    return mailbox


@transaction.atomic
def mailbox_update(*, actor: Actor, mailbox: Mailbox, data: MailboxInput) -> Mailbox:
    """Change a mailbox's connection; an empty password keeps the stored one."""
    require_lead(actor=actor, shop_id=mailbox.shop_id)
    changes: dict[str, Any] = _apply(mailbox, _mailbox_values(data))
    password = keep_secret(data.password, mailbox.password)
    if password != mailbox.password:
        mailbox.password = password
        changes["password"] = SECRET_CHANGED
    if any(name in changes for name in _MAILBOX_IDENTITY):
        mailbox.uid_validity = None
        mailbox.last_seen_uid = 0
    if changes:
        mailbox.save()
        record(actor=actor.user, action=actions.MAILBOX_CHANGED, target=mailbox, changes=changes)
    return mailbox


@transaction.atomic
def mailbox_delete(*, actor: Actor, mailbox: Mailbox) -> None:
    """Stop fetching from a mailbox and forget it; addresses that named it keep working."""
    _delete_audited(
        actor=actor, instance=mailbox, action=actions.MAILBOX_DELETED, fields=_MAILBOX_FIELDS
    )


def mailbox_test_connection(*, actor: Actor, mailbox: Mailbox) -> ConnectionCheck:
    """Sign in to the mailbox with its saved settings and record who tried and how it went.

    Not one transaction: the IMAP conversation must not hold the database's write lock.
    """
    require_lead(actor=actor, shop_id=mailbox.shop_id)
    check = mailbox_check(mailbox)
    _mailbox_test_record(actor=actor, mailbox=mailbox, check=check)
    return check


@transaction.atomic
def _mailbox_test_record(*, actor: Actor, mailbox: Mailbox, check: ConnectionCheck) -> None:
    record(
        actor=actor.user,
        action=actions.MAILBOX_TESTED,
        target=mailbox,
        changes={"is_ok": check.is_ok, "error": check.error},
    )


# Outgoing servers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServerInput:
    name: str
    host: str
    port: int
    security: str
    username: str
    password: str  # empty: keep the stored one
    is_active: bool


_SERVER_FIELDS = ("name", "host", "port", "security", "username", "is_active")


def _server_values(shop: Shop, data: SmtpServerInput, *, exclude_id: int | None) -> dict[str, Any]:
    name = data.name.strip()
    same = SmtpServer.objects.filter(shop=shop, name=name)
    if (same.exclude(pk=exclude_id) if exclude_id else same).exists():
        raise ValidationError("The shop already has an outgoing server of this name.")
    return {
        "name": name,
        "host": data.host.strip(),
        "port": data.port,
        "security": data.security,
        "username": data.username.strip(),
        "is_active": data.is_active,
    }


@transaction.atomic
def smtp_server_create(*, actor: Actor, shop: Shop, data: SmtpServerInput) -> SmtpServer:
    """Add an SMTP server the shop's replies may go out through."""
    require_lead(actor=actor, shop_id=shop.id)
    values = _server_values(shop, data, exclude_id=None)
    server = SmtpServer(shop=shop, password=data.password if values["username"] else "", **values)
    server.save()
    changes: dict[str, Any] = {
        name: [None, value] for name, value in _snapshot(server, _SERVER_FIELDS).items()
    }
    if server.password:
        changes["password"] = SECRET_CHANGED
    record(actor=actor.user, action=actions.SMTP_SERVER_CREATED, target=server, changes=changes)
    return server


@transaction.atomic
def smtp_server_update(*, actor: Actor, server: SmtpServer, data: SmtpServerInput) -> SmtpServer:
    """Change an outgoing server; an empty password keeps the stored one.

    A changed connection is no longer the one a test send verified.
    """
    require_lead(actor=actor, shop_id=server.shop_id)
    changes: dict[str, Any] = _apply(
        server, _server_values(server.shop, data, exclude_id=server.pk)
    )
    password = keep_secret(data.password, server.password) if server.username else ""
    if password != server.password:
        server.password = password
        changes["password"] = SECRET_CHANGED
    if server.verified_at is not None and (
        "password" in changes or any(name in changes for name in ("host", "port", "security"))
    ):
        changes["verified_at"] = [server.verified_at.isoformat(), None]
        server.verified_at = None
    if changes:
        server.save()
        record(actor=actor.user, action=actions.SMTP_SERVER_CHANGED, target=server, changes=changes)
    return server


@transaction.atomic
def smtp_server_delete(*, actor: Actor, server: SmtpServer) -> None:
    """Remove an outgoing server; its addresses send through the system's settings again."""
    _delete_audited(
        actor=actor, instance=server, action=actions.SMTP_SERVER_DELETED, fields=_SERVER_FIELDS
    )


def _test_sender(server: SmtpServer) -> MailAddress:
    """The address a test mail comes from: one that sends through this server, else the
    shop's default sender, else the system's sender."""
    addresses = MailAddress.objects.filter(shop_id=server.shop_id).order_by(
        "-is_default_sender", "address"
    )
    found = addresses.filter(outbound_server=server).first() or addresses.first()
    if found is not None:
        return found
    return MailAddress(address=settings.DEFAULT_FROM_EMAIL, display_name="Madoguchi")


def smtp_server_test_send(*, actor: Actor, server: SmtpServer, to_address: str) -> ConnectionCheck:
    """Send a real test mail through the server and record how it went.

    Not one transaction: the SMTP conversation must not hold the database's write lock (SQLite
    serialises writers); the outcome is written afterwards in its own.
    """
    require_lead(actor=actor, shop_id=server.shop_id)
    sender = _test_sender(server)
    check = smtp_server_try(
        server=server,
        sender=sender,
        to_address=to_address,
        subject=gettext("Test mail from Madoguchi"),
        body_text=gettext(
            "This test mail was sent by Madoguchi through the outgoing server “%(name)s” "
            "(%(host)s:%(port)s) from %(sender)s.\n\nIf it arrived, replies from this address "
            "reach customers."
        )
        % {"name": server.name, "host": server.host, "port": server.port, "sender": sender.address},
    )
    _smtp_server_test_record(actor=actor, server=server, to_address=to_address, check=check)
    return check


@transaction.atomic
def _smtp_server_test_record(
    *, actor: Actor, server: SmtpServer, to_address: str, check: ConnectionCheck
) -> None:
    now = timezone.now()
    before = server.verified_at.isoformat() if server.verified_at else None
    values: dict[str, Any] = {"last_used_at": now, "last_error": check.error}
    if check.is_ok:
        values["verified_at"] = now
    SmtpServer.objects.filter(pk=server.pk).update(**values)
    for name, value in values.items():
        setattr(server, name, value)
    after = server.verified_at.isoformat() if server.verified_at else None
    record(
        actor=actor.user,
        action=actions.SMTP_SERVER_TESTED,
        target=server,
        changes={
            "to": to_address,
            "is_ok": check.is_ok,
            "error": check.error,
            "verified_at": [before, after],
        },
    )
