"""The tenant scope: deny by default, exactly the shops asked for, explicit escape hatch."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django_scopes import ScopeError, scope
from django_scopes.state import get_scope

from madoguchi.conversations.models import Ticket
from madoguchi.customers.models import Customer
from madoguchi.events.models import Event
from madoguchi.tenancy.access import ANONYMOUS
from madoguchi.tenancy.middleware import ShopScopeMiddleware
from madoguchi.tenancy.scoping import in_shop, scope_within, shop_scope, unscoped

pytestmark = pytest.mark.django_db


def test_query_without_scope_raises(world):
    with pytest.raises(ScopeError):
        list(Ticket.objects.all())
    with pytest.raises(ScopeError):
        Customer.objects.count()
    with pytest.raises(ScopeError):
        Event.objects.filter(shop=world.tea).exists()


def test_empty_scope_sees_nothing(world):
    with shop_scope(()):
        assert Ticket.objects.count() == 0
        assert list(Customer.objects.all()) == []


def test_in_shop_sees_exactly_one_shop(world):
    with in_shop(world.tea.id):
        assert list(Ticket.objects.all()) == [world.tea_ticket]
        assert Ticket.objects.filter(pk=world.ceramics_ticket.pk).exists() is False
    with in_shop(world.ceramics.id):
        assert list(Ticket.objects.all()) == [world.ceramics_ticket]
    with shop_scope([world.ceramics.id, world.tea.id]):
        assert set(Ticket.objects.all()) == {world.tea_ticket, world.ceramics_ticket}


def test_scope_is_restored_after_the_block(world):
    with in_shop(world.tea.id):
        with in_shop(world.ceramics.id):
            assert list(Ticket.objects.all()) == [world.ceramics_ticket]
        assert list(Ticket.objects.all()) == [world.tea_ticket]
    with pytest.raises(ScopeError):
        Ticket.objects.count()


def test_reverse_relations_and_prefetch_are_scoped(world):
    with in_shop(world.tea.id):
        ticket = Ticket.objects.get()
        assert [m.body_text for m in ticket.messages.all()] == ["注文した商品がまだ届きません。"]
        prefetched = Ticket.objects.prefetch_related("messages").get()
        assert len(prefetched.messages.all()) == 1
    with shop_scope(()):
        # The ticket object is in hand, but its messages stay behind the (empty) scope.
        assert list(ticket.messages.all()) == []


def test_unscoped_needs_a_reason(world):
    with pytest.raises(ValueError, match="needs a reason"), unscoped(""):
        pass  # pragma: no cover
    with unscoped("test: count every shop's tickets"):
        assert Ticket.objects.count() == 2
    with pytest.raises(ScopeError):
        Ticket.objects.count()


@pytest.mark.parametrize("value", [None, [1], {1}, 1])
def test_non_tuple_scope_value_raises(world, value):
    with scope(shop=value), pytest.raises(TypeError, match="tuple"):
        Ticket.objects.count()


def _middleware_probe(seen: dict[str, object]):
    def get_response(request: HttpRequest) -> HttpResponse:
        seen["scope"] = dict(get_scope())
        seen["actor"] = request.actor  # type: ignore[attr-defined]
        seen["tickets"] = list(Ticket.objects.order_by("id"))
        return HttpResponse("ok")

    return get_response


def test_middleware_gives_an_anonymous_request_an_empty_scope(world):
    seen: dict[str, object] = {}
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    response = ShopScopeMiddleware(_middleware_probe(seen))(request)
    assert response.status_code == 200
    assert seen["actor"] is ANONYMOUS
    assert (seen["scope"]["shop"], seen["scope"]["workspace"]) == ((), ())
    assert seen["tickets"] == []
    # Outside the request the scope is gone again.
    with pytest.raises(ScopeError):
        Ticket.objects.count()


def test_middleware_scopes_a_signed_in_user_to_their_shops(world):
    seen: dict[str, object] = {}
    request = RequestFactory().get("/")
    request.user = world.operator_tea
    ShopScopeMiddleware(_middleware_probe(seen))(request)
    assert seen["scope"]["shop"] == (world.tea.id,)
    assert seen["scope"]["workspace"] == (world.agency.id,)
    assert seen["tickets"] == [world.tea_ticket]


def test_scope_within_compares_the_active_shop_scope():
    assert not scope_within((1, 2))  # no scope: nothing is limited yet
    with shop_scope((1, 2)):
        assert scope_within((1, 2, 3))
        assert scope_within((2, 1))
        assert not scope_within((1,))
    with shop_scope(()):
        assert scope_within((5,))  # sees nothing, so within anything
    with unscoped("test"):
        assert not scope_within((1, 2))
