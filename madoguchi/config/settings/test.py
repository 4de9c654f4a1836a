"""Settings for the test suite: the same engines as production, faster hashing."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Serve static files from the apps (no collectstatic in tests), as DEBUG does in development.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests sign staff in with force_login, which passes no second step; the tests of the rules
# that every admin has one and that new workspaces require it of all staff
# (accounts/tests/test_admin_two_factor.py) turn them back on.
MADOGUCHI = {
    **MADOGUCHI,  # noqa: F405
    "TWO_FACTOR_FOR_ADMINS": False,
    "NEW_WORKSPACES_REQUIRE_TWO_FACTOR": False,
}
# The chat's database work on the test's own thread, as channels does it: the in-memory SQLite
# test database has no write gate, and two of its connections writing at once fail ("database
# table is locked"). The pool's tests (connectors/chat/tests/test_delivery_under_load.py) turn
# it on where they need it.
CHAT_DATABASE_THREADS = 0
