"""Reads of customers shaped for the pages that show them."""

from django.db.models import Prefetch, Q, QuerySet

from madoguchi.core.errors import NotFoundError
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.customers.normalize import identity_digest, matchable_email, matchable_phone
from madoguchi.tenancy.access import Actor


def access_customer(*, actor: Actor, shop_id: int, customer_id: int) -> Customer:
    """Return the customer if the actor may see its shop; otherwise raise NotFoundError."""
    if shop_id not in actor.grants:
        raise NotFoundError("Customer not found")
    customer = (
        Customer.objects.filter(shop_id=shop_id, id=customer_id)
        .select_related("shop")
        .prefetch_related(
            Prefetch("identities", queryset=ContactIdentity.objects.order_by("kind", "id"))
        )
        .first()
    )
    if customer is None:
        raise NotFoundError("Customer not found")
    return customer


def customer_search(*, shop_id: int, query: str, limit: int = 10) -> QuerySet[Customer]:
    """Return the shop's customers whose name or kana contains `query`, or whose email address
    or phone number is `query` (contacts are encrypted: found whole, by their digest)."""
    query = query.strip()
    if not query:
        return Customer.objects.none()
    conditions = Q(name__icontains=query) | Q(name_kana__icontains=query)
    digests = [
        identity_digest(ContactIdentity.Kind.EMAIL, matchable_email(query)),
        identity_digest(ContactIdentity.Kind.PHONE, matchable_phone(query)),
        identity_digest(ContactIdentity.Kind.LINE, query),
    ]
    if any(digests):
        matching = ContactIdentity.objects.filter(
            shop_id=shop_id, value_digest__in=[digest for digest in digests if digest]
        ).values("customer_id")
        conditions |= Q(id__in=matching)
    return Customer.objects.filter(conditions, shop_id=shop_id).order_by("name", "id")[:limit]


def contact_digests(*, customer_ids: set[int]) -> list[tuple[int, str, str]]:
    """Return (customer id, kind, value digest) of these customers' emails and phones."""
    if not customer_ids:
        return []
    return list(
        ContactIdentity.objects.filter(
            customer_id__in=customer_ids,
            kind__in=[ContactIdentity.Kind.EMAIL, ContactIdentity.Kind.PHONE],
        ).values_list("customer_id", "kind", "value_digest")
    )
