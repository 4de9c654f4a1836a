"""ASGI entry point: Django for HTTP, the live chat's consumers for websockets."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.config.settings.local")

# Django is set up before the consumers (and their models) are imported.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from madoguchi.connectors.chat.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_application, "websocket": websocket_application})
