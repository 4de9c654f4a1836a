"""Writes of the privacy app: the audited export of a customer's data (APPI disclosure).

Retention lives in `privacy.retention`, erasure in `privacy.erasure`; this module re-exports
their services so views import one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.privacy.erasure import customer_erase, erasure_verify
from madoguchi.privacy.retention import retention_policy_save, retention_run, retention_run_due
from madoguchi.privacy.selectors import customer_export

if TYPE_CHECKING:
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.access import Actor

__all__ = [
    "customer_erase",
    "customer_export_record",
    "erasure_verify",
    "retention_policy_save",
    "retention_run",
    "retention_run_due",
]

EXPORT_FORMATS = ("json", "html")


def customer_export_record(
    *, actor: Actor, customer: Customer, format: str, ip_address: str | None = None
) -> dict[str, Any]:
    """Return the customer's data for a disclosure request and audit who took it (leads only)."""
    if not actor.is_lead_for(customer.shop_id):
        raise PermissionDeniedError(
            gettext_noop("Only a supervisor or admin may export a customer's data.")
        )
    data = customer_export(customer=customer)
    record(
        actor=actor.user,
        action=actions.PRIVACY_CUSTOMER_EXPORTED,
        target=customer,
        shop=customer.shop,
        changes={
            "format": format,
            "tickets": len(data["tickets"]),
            "orders": len(data["orders"]),
        },
        ip_address=ip_address,
    )
    return data
