"""Write sign-in, sign-out and failed sign-in to the audit log."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from madoguchi.accounts.sessions import client_address as _ip
from madoguchi.audit import actions
from madoguchi.audit.services import record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    record(actor=user, action=actions.USER_LOGGED_IN, ip_address=_ip(request))


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    reason = getattr(request, "session_expiry_reason", None)  # set by accounts.session_expiry
    if reason is not None:
        record(
            actor=user,
            action=actions.USER_SESSION_EXPIRED,
            changes={"reason": reason},
            ip_address=_ip(request),
        )
    else:
        record(actor=user, action=actions.USER_LOGGED_OUT, ip_address=_ip(request))


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    label = str(credentials.get("username", ""))[:254]
    record(actor=None, action=actions.USER_LOGIN_FAILED, ip_address=_ip(request), actor_label=label)
