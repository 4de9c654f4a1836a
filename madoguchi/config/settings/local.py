"""Settings for `make demo` and local development: the embedded default."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
