"""Where the chat's sockets are mounted: the visitor's outside the staff's session stack."""

import pytest
from channels.auth import AuthMiddleware
from channels.routing import URLRouter
from channels.sessions import SessionMiddleware

from madoguchi.accounts.ip_allowlist import IpAllowlistWebsocketMiddleware
from madoguchi.config.asgi import websocket_application
from madoguchi.connectors.chat.consumers import OperatorConsumer, VisitorConsumer

pytestmark = pytest.mark.django_db  # the suite's cache is a database table


def _stack(app):
    """The apps from `app` inwards to the consumer that serves `path` (middleware first)."""
    chain = []
    while True:
        chain.append(app)
        if hasattr(app, "inner"):
            app = app.inner
        else:
            return chain


def _route(router, path):
    for route in router.routes:
        if route.pattern.match(path):
            return route.callback
    raise AssertionError(f"no route for {path}")


def _served_by(path):
    """Every app a socket on `path` passes through, outermost first."""
    passed = []
    app = websocket_application
    while True:
        stack = _stack(app)
        passed.extend(stack)
        router = stack[-1]
        if not isinstance(router, URLRouter):
            return passed
        app = _route(router, path)


def _kinds(apps):
    return {type(app) for app in apps} | {getattr(app, "consumer_class", None) for app in apps}


def test_the_visitor_socket_reads_no_session_and_no_user():
    kinds = _kinds(_served_by("ws/chat/" + "t" * 43 + "/"))
    assert VisitorConsumer in kinds
    assert not kinds & {SessionMiddleware, AuthMiddleware, IpAllowlistWebsocketMiddleware}


def test_the_operator_socket_has_the_staff_stack():
    kinds = _kinds(_served_by("ws/operator/"))
    assert OperatorConsumer in kinds
    assert {SessionMiddleware, AuthMiddleware, IpAllowlistWebsocketMiddleware} <= kinds
