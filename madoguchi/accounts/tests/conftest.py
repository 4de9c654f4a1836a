"""Helpers of the accounts tests: signing in through the form, authenticator codes."""

from __future__ import annotations

import time

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts import services

PASSWORD = "pass-1234"  # the factories' password


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the user's authenticator app shows (`steps_ahead` periods later: a code is
    accepted once, so a second sign-in within the same 30 seconds uses the next one)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def post_password(client: Client, email: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password, **extra}
    )


def enable_two_factor(user) -> tuple[TOTPDevice, list[str]]:  # type: ignore[no-untyped-def]
    """Give `user` a confirmed authenticator and recovery codes, as the set-up page does."""
    device = services.authenticator_pending(user=user)
    codes = services.two_factor_enable(
        user=user, device=device, code=code_for(device), ip_address=None
    )
    assert codes is not None
    device.refresh_from_db()
    return device, codes


def signed_in_with_code(user, device: TOTPDevice) -> Client:  # type: ignore[no-untyped-def]
    """A client through both sign-in steps (the code after the one `enable_two_factor` used)."""
    client = Client()
    assert post_password(client, user.email).status_code == 302
    passed = client.post(
        reverse("accounts:sign_in_code"), {"code": code_for(device, steps_ahead=1)}
    )
    assert passed.status_code == 302
    return client


@pytest.fixture
def fresh_channel_layer():
    """A fresh in-memory channel layer (groups never leak from one test to the next)."""
    with override_settings(
        CHANNEL_LAYERS={
            "default": {"BACKEND": "madoguchi.core.channel_layers.InProcessChannelLayer"}
        }
    ):
        yield


@pytest.fixture(autouse=True)
def _no_otp_delay(settings):  # type: ignore[no-untyped-def]
    # django-otp doubles a wait after each wrong code; the tests type the right one at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
