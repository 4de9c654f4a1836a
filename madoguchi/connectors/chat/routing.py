"""Websocket routes of the chat; `config.asgi` mounts them beside Django's HTTP application."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path, re_path

from madoguchi.connectors.chat.consumers import OperatorConsumer, VisitorConsumer

websocket_urlpatterns = [
    re_path(r"^ws/chat/(?P<token>[A-Za-z0-9_-]{20,128})/$", VisitorConsumer.as_asgi()),
    path("ws/operator/", OperatorConsumer.as_asgi()),
]

# Sessions and users for the operator socket; each consumer checks the Origin itself (per shop
# for visitors, same host for operators).
websocket_application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
