"""Create and find customers; every write of a customer goes through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import ForeignObjectRel
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import audit_entry, record, record_many
from madoguchi.core.db import insert_all
from madoguchi.core.errors import ValidationError
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.customers.normalize import (
    identity_digest,
    matchable_email,
    matchable_phone,
    normalize_identity,
)
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.search.services import (
    search_index_customer_on_commit,
    search_index_new_customers,
)

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.tenancy.access import Actor
    from madoguchi.tenancy.models import Shop


@dataclass(frozen=True)
class IdentityInput:
    """A contact value as a channel or a person gave it."""

    kind: str
    value: str
    display_name: str = ""


def _text(value: str) -> str:
    """Return `value` trimmed and without NUL, which channels may send and PostgreSQL refuses."""
    return value.replace("\x00", "").strip()


def _clean_identities(identities: Sequence[IdentityInput]) -> list[tuple[IdentityInput, str]]:
    cleaned = []
    for identity in identities:
        if identity.kind not in ContactIdentity.Kind.values:
            raise ValidationError(f"Unknown contact kind {identity.kind!r}")
        value = normalize_identity(identity.kind, _text(identity.value))
        if value:
            cleaned.append((identity, value))
    return cleaned


@transaction.atomic
def customer_create(
    *,
    shop: Shop,
    name: str,
    name_kana: str = "",
    identities: Sequence[IdentityInput] = (),
    actor: User | None = None,
) -> Customer:
    """Create a customer with its contact identities in `shop`."""
    return _customer_create(
        shop=shop, name=name, name_kana=name_kana, identities=identities, actor=actor
    )


def _customer_create(
    *,
    shop: Shop,
    name: str,
    name_kana: str = "",
    identities: Sequence[IdentityInput] = (),
    actor: User | None = None,
) -> Customer:
    customer = Customer.objects.create(shop=shop, name=_text(name), name_kana=_text(name_kana))
    rows = [
        _identity_row(shop, customer, identity, value)
        for identity, value in _clean_identities(identities)
    ]
    insert_all(rows)
    _announce_created(shop, [customer], actor=actor, contacts={customer.id: (rows, None)})
    return customer


def _identity_row(
    shop: Shop, customer: Customer, identity: IdentityInput, value: str
) -> ContactIdentity:
    return ContactIdentity(
        shop=shop,
        customer=customer,
        kind=identity.kind,
        value=value,
        display_value=_text(identity.value),
        display_name=_text(identity.display_name),
    )


def _announce_created(
    shop: Shop,
    customers: Sequence[Customer],
    *,
    actor: User | None,
    contacts: Mapping[int, tuple[Sequence[ContactIdentity], dt.datetime | None]],
) -> None:
    """The event, the audit entry and the search documents of newly created customers.

    `contacts[customer.id]` are the customer's identity rows and first activity; the documents
    go in with the rows (a customer missing from it is indexed after the commit instead).
    """
    for customer in customers:
        event_append(
            shop=shop,
            type="customer.created",
            actor_kind=ActorKind.OPERATOR if actor else ActorKind.SYSTEM,
            actor_user=actor,
            payload={"customer_id": customer.id},
        )
        if customer.id not in contacts:
            search_index_customer_on_commit(customer.id)
    search_index_new_customers(
        [customer for customer in customers if customer.id in contacts], contacts
    )
    record_many(
        [
            audit_entry(actor=actor, action=actions.CUSTOMER_CREATED, target=customer, shop=shop)
            for customer in customers
        ]
    )


def customer_find(*, shop: Shop, identities: Sequence[IdentityInput]) -> Customer | None:
    """Return the shop's customer reached by any of these identities, if there is one."""
    found = _find(shop, _clean_identities(identities))
    return found[0] if found is not None else None


def customer_find_by_contacts(*, shop: Shop, email: str = "", phone: str = "") -> Customer | None:
    """Return the shop's customer with this email address or phone number, email first.

    For records that carry contact values but no customer (an order taken on the phone, a
    CSV row): the values are normalised as channels' identities are, so "０９０-1234-5601"
    finds the customer who called from 09012345601. An empty or unusable value is skipped.
    """
    identities: list[IdentityInput] = []
    if matchable_email(email):
        identities.append(IdentityInput(kind=ContactIdentity.Kind.EMAIL, value=email))
    if matchable_phone(phone):
        identities.append(IdentityInput(kind=ContactIdentity.Kind.PHONE, value=phone))
    return customer_find(shop=shop, identities=identities) if identities else None


def _find(shop: Shop, cleaned: Sequence[tuple[IdentityInput, str]]) -> tuple[Customer, int] | None:
    """Return the customer of the first identity that exists, and that identity's position."""
    for position, (identity, value) in enumerate(cleaned):
        found = (
            ContactIdentity.objects.filter(
                shop=shop, kind=identity.kind, value_digest=identity_digest(identity.kind, value)
            )
            .defer("value", "display_value")
            .select_related("customer")
            .first()
        )
        if found is not None:
            return found.customer, position
    return None


def customer_find_or_create(
    *,
    shop: Shop,
    name: str,
    identities: Sequence[IdentityInput],
    actor: User | None = None,
) -> tuple[Customer, bool]:
    """Return the customer for these identities in `shop`, creating one if none matches.

    Identities the customer lacks are added. A concurrent creation of the same identity is
    resolved by the unique constraint: the loser reads the winner's customer.
    """
    request = CustomerRequest(name=name, identities=tuple(identities))
    try:
        with transaction.atomic():
            return _customers_find_or_create(shop, [request], actor=actor)[0]
    except IntegrityError:
        winner = customer_find(shop=shop, identities=identities)
        if winner is None:
            raise
        return winner, False


@dataclass(frozen=True)
class CustomerRequest:
    """Who wrote: the name and the contact values a channel gave (`customers_find_or_create`)."""

    name: str
    identities: Sequence[IdentityInput]
    # When they wrote (a new customer's first activity in search); None: now.
    activity_at: dt.datetime | None = None


def customers_find_or_create(
    *, shop: Shop, requests: Sequence[CustomerRequest], actor: User | None = None
) -> list[tuple[Customer, bool]]:
    """`customer_find_or_create` for many senders at once (a batch of inbound mail), in order.

    One query finds the known identities of all of them; new customers, their identities and
    the identities known customers lack are inserted in one statement each. Requests sharing
    an identity share a customer (the first one creates it). When a concurrent writer stored
    one of the identities meanwhile, the requests are answered one by one instead.
    """
    try:
        with transaction.atomic():
            return _customers_find_or_create(shop, requests, actor=actor)
    except IntegrityError:
        if len(requests) == 1:
            raise
    return [
        customer_find_or_create(
            shop=shop, name=request.name, identities=request.identities, actor=actor
        )
        for request in requests
    ]


def _customers_find_or_create(
    shop: Shop, requests: Sequence[CustomerRequest], *, actor: User | None
) -> list[tuple[Customer, bool]]:
    cleaned = [_clean_identities(request.identities) for request in requests]
    values_by_kind: dict[str, set[str]] = {}
    for identities in cleaned:
        for identity, value in identities:
            values_by_kind.setdefault(identity.kind, set()).add(value)
    known: dict[tuple[str, str], Customer] = {}
    for kind, values in values_by_kind.items():  # one query per kind (the unique index)
        by_digest = {identity_digest(kind, value): value for value in values}
        for found in (
            ContactIdentity.objects.filter(shop=shop, kind=kind, value_digest__in=by_digest)
            .defer("value", "display_value")  # not decrypted: the digest says which it is
            .select_related("customer")
        ):
            known[(kind, by_digest[found.value_digest])] = found.customer
    results: list[tuple[Customer, bool]] = []
    new_customers: list[Customer] = []
    first_activity: list[dt.datetime | None] = []  # of each new customer, in the same order
    # Identities to insert, each once: (customer, input, value); those of known customers may
    # have been stored meanwhile by someone else, which is fine (get-or-create).
    new_identities: dict[tuple[str, str], tuple[Customer, IdentityInput, str]] = {}
    added_identities: dict[tuple[str, str], tuple[Customer, IdentityInput, str]] = {}
    for request, identities in zip(requests, cleaned, strict=True):
        # The customer of the first identity already known, as `customer_find` would answer.
        customer = next(
            (
                known[(identity.kind, value)]
                for identity, value in identities
                if (identity.kind, value) in known
            ),
            None,
        )
        created = customer is None
        if customer is None:
            customer = Customer(shop=shop, name=_text(request.name), name_kana="")
            new_customers.append(customer)
            first_activity.append(request.activity_at)
        for identity, value in identities:
            key = (identity.kind, value)
            if key in known:
                continue
            known[key] = customer
            target = new_identities if created else added_identities
            target[key] = (customer, identity, value)
        results.append((customer, created))
    insert_all(new_customers)
    rows = [_identity_row(shop, *item) for item in new_identities.values()]
    insert_all(rows)
    if added_identities:
        ContactIdentity.objects.bulk_create(
            [_identity_row(shop, *item) for item in added_identities.values()],
            ignore_conflicts=True,
        )
    contacts: dict[int, tuple[list[ContactIdentity], dt.datetime | None]] = {
        customer.id: ([], activity_at)
        for customer, activity_at in zip(new_customers, first_activity, strict=True)
    }
    for row in rows:
        contacts[row.customer_id][0].append(row)
    # A new customer that a later request gave a further contact (which may have been
    # someone else's meanwhile) is indexed from the database after the commit.
    for customer, _identity, _value in added_identities.values():
        contacts.pop(customer.id, None)
    _announce_created(shop, new_customers, actor=actor, contacts=contacts)
    for customer, created in results:
        if not created:
            search_index_customer_on_commit(customer.id)
    return results


@transaction.atomic
def customer_merge(*, actor: Actor, source: Customer, target: Customer) -> Customer:
    """Merge `source` into `target` (same shop): its identities, tickets and every other row
    that points at it move to `target`, then `source` is deleted. Staff of the shop only."""
    from madoguchi.tenancy.access import require_staff

    require_staff(actor=actor, shop_id=source.shop_id)
    if source.shop_id != target.shop_id:
        raise ValidationError("Both customers must belong to the same shop.")
    if source.pk == target.pk:
        raise ValidationError("A customer cannot be merged into itself.")
    locked = list(
        Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
    )
    if len(locked) != 2:
        raise ValidationError("The customer no longer exists.")
    moved: dict[str, int] = {}
    # Every foreign key to Customer, including those without a reverse accessor ("+").
    for relation in Customer._meta.get_fields(include_hidden=True):
        if relation.concrete or not (relation.one_to_many or relation.one_to_one):
            continue
        if not isinstance(relation, ForeignObjectRel):
            continue
        related_model = relation.related_model
        if isinstance(related_model, str):
            continue
        manager = related_model._base_manager
        count = manager.filter(**{relation.field.name: source}).update(
            **{relation.field.name: target}
        )
        if count:
            moved[f"{related_model._meta.label_lower}.{relation.field.name}"] = count
    kept = ["name"] if not target.name and source.name else []
    if kept:
        target.name = source.name
    # The staff's memos are both kept: the target's first, then the merged customer's.
    current = {customer.pk: customer for customer in locked}
    source_note, target_note = current[source.pk].note, current[target.pk].note
    if source_note and source_note != target_note:
        target.note = f"{target_note}\n\n{source_note}" if target_note else source_note
        kept.append("note")
    if kept:
        target.save(update_fields=[*kept, "updated_at"])
    source_id = source.pk
    event_append(
        shop=target.shop,
        type="customer.merged",
        actor_kind=ActorKind.OPERATOR,
        actor_user=actor.user,
        payload={"source_id": source_id, "target_id": target.pk},
    )
    record(
        actor=actor.user,
        action=actions.CUSTOMER_MERGED,
        target=target,
        shop=target.shop,
        changes={"source_id": source_id, "moved": moved},
    )
    source.delete()
    search_index_customer_on_commit(source_id)
    search_index_customer_on_commit(target.pk)
    return target


NOTE_MAX_CHARS = 5000


@transaction.atomic
def customer_note_update(*, actor: Actor, customer: Customer, note: str) -> Customer:
    """Set the staff's memo on a customer (staff of the shop only; audited with old and new).

    Clients read the memo on the customer page but do not write it: the customer record is
    the support staff's working data, like internal notes.
    """
    from madoguchi.tenancy.access import require_staff

    require_staff(actor=actor, shop_id=customer.shop_id)
    text = note.replace("\x00", "").replace("\r\n", "\n").strip()
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationError(gettext_noop("The memo is too long."), field="note")
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.note == text:
        return locked
    old = locked.note
    locked.note = text
    locked.note_updated_at = timezone.now()
    locked.note_updated_by = actor.user
    locked.save(update_fields=["note", "note_updated_at", "note_updated_by", "updated_at"])
    record(
        actor=actor.user,
        action=actions.CUSTOMER_NOTE_CHANGED,
        target=locked,
        shop=locked.shop,
        changes={"old": old, "new": text},
    )
    return locked


# Reading personal data --------------------------------------------------------------------------
# The customer page shows all of a customer's contacts, the memo, every ticket and their orders;
# the picker lists several customers with their contacts. Each showing is audited: who, when,
# from where, which customers. (The ticket page is not: its contact card belongs to the
# conversation the operator works, and every ticket's replies and changes are recorded already.)


def customer_view_record(
    *, actor: Actor, shop: Shop, customer: Customer, ip_address: str | None
) -> None:
    """Write that the actor opened the customer's page (`customer.viewed`)."""
    record(
        actor=actor.user,
        action=actions.CUSTOMER_VIEWED,
        target=customer,
        shop=shop,
        changes={"page": "customer"},
        ip_address=ip_address,
    )


def customers_search_record(
    *, actor: Actor, shop: Shop, customers: Sequence[Customer], ip_address: str | None
) -> None:
    """Write which customers a search showed the actor with their contacts (none: no entry)."""
    if customers:
        record(
            actor=actor.user,
            action=actions.CUSTOMERS_SEARCHED,
            shop=shop,
            changes={"customers": [customer.pk for customer in customers]},
            ip_address=ip_address,
        )


REVEAL_REASON_MAX_CHARS = 500


def customer_pii_reveal(
    *, actor: Actor, shop: Shop, customer: Customer, reason: str, ip_address: str | None
) -> None:
    """Write that the actor had the customer's masked contacts shown, and why
    (`customer.pii_revealed`); without a reason nothing is shown and nothing written.

    Anyone who may open the customer's page may reveal (trainees and the shop's clients see
    contacts masked, `masking.sees_contacts`); the reveal lasts for the page it answers.
    """
    text = reason.replace("\x00", "").strip()
    if not text:
        raise ValidationError(
            gettext_noop("Say why you need the customer's contact details."), field="reason"
        )
    if len(text) > REVEAL_REASON_MAX_CHARS:
        raise ValidationError(gettext_noop("The reason is too long."), field="reason")
    record(
        actor=actor.user,
        action=actions.CUSTOMER_PII_REVEALED,
        target=customer,
        shop=shop,
        # Which contacts were shown (their kinds), not the values: the log is read widely.
        changes={
            "reason": text,
            "shown": sorted({identity.kind for identity in customer.identities.all()}),
        },
        ip_address=ip_address,
    )
