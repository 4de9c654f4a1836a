"""ASGI entry point: Django for HTTP; the live chat's and the ticket pages' consumers for
websockets."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.config.settings.local")

from madoguchi.core.asgi_handler import get_asgi_application

# Django is set up before the consumers (and their models) are imported.
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from madoguchi.accounts.ip_allowlist import IpAllowlistWebsocketMiddleware  # noqa: E402
from madoguchi.accounts.websockets import (  # noqa: E402
    SessionExpiryWebsocketMiddleware,
    SignInStepWebsocketMiddleware,
)
from madoguchi.connectors.chat.routing import staff_urlpatterns as chat_staff_routes  # noqa: E402
from madoguchi.connectors.chat.routing import visitor_urlpatterns as chat_visitor_routes  # noqa: E402
from madoguchi.conversations.routing import websocket_urlpatterns as ticket_routes  # noqa: E402
from madoguchi.core.secure_websockets import SecureWebsocketMiddleware  # noqa: E402

# Sessions and users for every staff socket (anonymous from outside the workspace's IP
# allowlist, until the second sign-in step is done, or once the session expired; closed when it
# ends); each consumer checks the Origin and its access. A chat visitor's socket is
# authenticated by its token and needs none of that (connectors.chat.routing).
# Plain `ws` is refused first where the site is HTTPS-only (core.secure_websockets).
staff_websockets = AuthMiddlewareStack(
    IpAllowlistWebsocketMiddleware(
        SessionExpiryWebsocketMiddleware(
            SignInStepWebsocketMiddleware(URLRouter([*chat_staff_routes, *ticket_routes]))
        )
    )
)
websocket_application = SecureWebsocketMiddleware(
    URLRouter([*chat_visitor_routes, re_path(r"", staff_websockets)])
)

application = ProtocolTypeRouter({"http": django_application, "websocket": websocket_application})
