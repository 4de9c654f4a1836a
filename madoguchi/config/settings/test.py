"""Settings for the test suite: the same engines as production, faster hashing."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Serve static files from the apps (no collectstatic in tests), as DEBUG does in development.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
