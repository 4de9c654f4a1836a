"""Settings for a deployment behind a TLS-terminating proxy."""

from .base import *  # noqa: F403
from .base import MADOGUCHI, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
# HTTPS only (ADR 11): plain HTTP is redirected (the health check answers on both), browsers are
# told to come back over HTTPS for a year, subdomains included, and the cookies never travel
# over HTTP. `__Host-` cookies are bound to this host and path /, never set by a subdomain.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^healthz/jobs$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
# The scheme a TLS-terminating proxy saw comes from X-Forwarded-Proto only when the deployment
# names its proxies (MADOGUCHI_TRUSTED_PROXIES); without one, a client could claim HTTPS.
if MADOGUCHI.get("TRUSTED_PROXIES"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# STORAGES comes from base: attachments on disk or in an S3-compatible bucket (MEDIA_STORAGE),
# static files served by WhiteNoise from the apps without collectstatic (ADR 0020).
# CHANNEL_LAYERS comes from base: in-process, or Redis with REDIS_URL (ADR 0017).
