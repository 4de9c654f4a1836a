"""Settings for `make demo` and local development: the embedded default."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)

# Outgoing mail goes to the demo's mail sink (`madoguchi serve --mail-sink 127.0.0.1:1025`, as
# `make demo` starts it) unless EMAIL_PORT says otherwise; the demo shops' outgoing server is
# the same address. (2525 is `madoguchi smtpd`'s.)
EMAIL_PORT = env.int("EMAIL_PORT", default=1025)
