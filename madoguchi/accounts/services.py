"""Writes of the accounts app: profile, passwords, the second factor, workspace security.

Each writes its audit entry in its transaction. Ending the user's other sessions is the
caller's part where it needs the request's session (`accounts.sessions`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts import selectors, throttling
from madoguchi.accounts.models import User
from madoguchi.accounts.sessions import user_sessions_end
from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import ValidationError

if TYPE_CHECKING:
    from madoguchi.tenancy.models import Workspace

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"
TOTP_DIGITS = 6


def sign_in_hold(*, email: str, address: str | None) -> throttling.Hold | None:
    """Count a sign-in (a password or a second-factor code) before its check
    (`throttling.sign_in_hold`), or refuse it: None, audited as `user.login_locked`. The caller
    releases the hold when it succeeds."""
    hold = throttling.sign_in_hold(email=email, address=address)
    if isinstance(hold, throttling.Hold):
        return hold
    record(
        actor=None,
        action=actions.USER_LOGIN_LOCKED,
        actor_label=email[:254],
        ip_address=address,
        changes={"blocked": str(hold)},
    )
    return None


def sign_in_code_failed(*, user: User, ip_address: str | None) -> None:
    """Audit a wrong second-factor code; the hold taken before its check is its count as a
    failed sign-in."""
    record(
        actor=user,
        action=actions.USER_LOGIN_FAILED,
        ip_address=ip_address,
        changes={"step": "code"},
    )


def password_reset_request(*, email: str, base_url: str) -> None:
    """Mail a reset link to the active account with this address, if there is one.

    The mail goes out from a background task, so the answer takes as long for an unknown
    address as for a known one. Accounts without a usable password (never set) get nothing.
    """
    from madoguchi.accounts.tasks import send_password_reset_mail

    for user in User.objects.filter(email__iexact=email.strip(), is_active=True):
        if user.has_usable_password():
            send_password_reset_mail.enqueue(user_id=user.pk, base_url=base_url)


def password_reset_mail_send(*, user_id: int, base_url: str) -> bool:
    """Send the reset mail (in the user's language) with a link that works once, for
    PASSWORD_RESET_TIMEOUT; return whether a mail went out."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "user": user,
        "reset_url": base_url.rstrip("/") + path,
        "expiry_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
    }
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject_text = render_to_string("accounts/password_reset_subject.txt", context)
        body = render_to_string("accounts/password_reset_email.txt", context)
    subject = " ".join(subject_text.split())  # one line: a header never carries a line break
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True


@transaction.atomic
def user_profile_update(
    *, user: User, display_name: str, language: str, ip_address: str | None
) -> None:
    """Save the user's display name and UI language; audit what changed."""
    changes = {
        field: [getattr(user, field), value]
        for field, value in (("display_name", display_name), ("language", language))
        if getattr(user, field) != value
    }
    if not changes:
        return
    user.display_name, user.language = display_name, language
    user.save(update_fields=list(changes))
    record(
        actor=user,
        action=actions.USER_PROFILE_CHANGED,
        target=user,
        changes=changes,
        ip_address=ip_address,
    )


def user_password_changed(*, user: User, ip_address: str | None) -> None:
    """Audit the password the user just changed (Django's form saved it)."""
    record(actor=user, action=actions.USER_PASSWORD_CHANGED, target=user, ip_address=ip_address)


@transaction.atomic
def user_password_reset_done(*, user: User, ip_address: str | None) -> int:
    """Audit a password set from a reset mail and end every session of the user."""
    record(actor=user, action=actions.USER_PASSWORD_RESET, target=user, ip_address=ip_address)
    return user_sessions_end(user=user)


def authenticator_pending(*, user: User) -> TOTPDevice:
    """The authenticator being set up (the same secret until it is confirmed or replaced)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def _normalized(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def two_factor_enable(
    *, user: User, device: TOTPDevice, code: str, ip_address: str | None
) -> list[str] | None:
    """Confirm the pending authenticator with a code from it; return new recovery codes.

    Returns None when the code is wrong. Any earlier authenticator is replaced.
    """
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if device.confirmed or not device.verify_token(_normalized(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _new_recovery_codes(user)
    record(actor=user, action=actions.USER_TWO_FACTOR_ENABLED, target=user, ip_address=ip_address)
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User, ip_address: str | None) -> list[str]:
    """Replace the user's recovery codes (the old ones stop working)."""
    if selectors.confirmed_device(user) is None:
        raise ValidationError("no_authenticator")
    codes = _new_recovery_codes(user)
    record(
        actor=user,
        action=actions.USER_RECOVERY_CODES_REGENERATED,
        target=user,
        ip_address=ip_address,
    )
    return codes


@transaction.atomic
def two_factor_disable(*, user: User, ip_address: str | None) -> None:
    """Remove the user's authenticator and recovery codes."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    record(actor=user, action=actions.USER_TWO_FACTOR_DISABLED, target=user, ip_address=ip_address)


def second_factor_match(*, user: User, code: str) -> Device | None:
    """The device that accepts `code`: the authenticator, or a recovery code (used up)."""
    code = _normalized(code)
    if not code:
        return None
    with transaction.atomic():
        if code.isdigit() and len(code) == TOTP_DIGITS:
            device = (
                TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            )
            return device if device is not None and device.verify_token(code) else None
        recovery = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True)
        device = recovery.first()
        return device if device is not None and device.verify_token(code) else None


@transaction.atomic
def workspace_security_set(
    *, user: User, workspace: Workspace, requires_two_factor: bool, ip_address: str | None
) -> None:
    """Require (or stop requiring) a second factor of the workspace's staff; audited."""
    before = workspace.requires_two_factor
    if before == requires_two_factor:
        return
    workspace.requires_two_factor = requires_two_factor
    workspace.save(update_fields=["requires_two_factor"])
    record(
        actor=user,
        action=actions.WORKSPACE_SECURITY_CHANGED,
        target=workspace,
        changes={"requires_two_factor": [before, requires_two_factor]},
        ip_address=ip_address,
    )
