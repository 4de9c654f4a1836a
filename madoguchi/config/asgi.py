"""ASGI entry point: Django for HTTP (websocket routes join with the chat channel)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.config.settings.local")

application = get_asgi_application()
