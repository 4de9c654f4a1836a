"""Websocket routes of the chat; `config.asgi` mounts them beside Django's HTTP application.

The visitor's socket is authenticated by its token alone: it is mounted outside the staff's
session stack (no cookie, session or user is read for it, and none is kept for its lifetime:
at 5,000 open sockets that state was a fifth of the objects the garbage collector walks).
"""

from django.urls import path, re_path

from madoguchi.connectors.chat.consumers import OperatorConsumer, VisitorConsumer

visitor_urlpatterns = [
    re_path(r"^ws/chat/(?P<token>[A-Za-z0-9_-]{20,128})/$", VisitorConsumer.as_asgi()),
]
staff_urlpatterns = [
    path("ws/operator/", OperatorConsumer.as_asgi()),
]
