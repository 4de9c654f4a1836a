"""Websocket routes of the ticket pages; `config.asgi` mounts them beside the connectors' routes."""

from django.urls import path

from madoguchi.conversations.consumers import TicketPresenceConsumer

websocket_urlpatterns = [
    path(
        "ws/shops/<slug:shop_slug>/tickets/<int:number>/presence/",
        TicketPresenceConsumer.as_asgi(),
    ),
]
