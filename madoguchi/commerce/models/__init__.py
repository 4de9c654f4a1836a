"""Orders, shipments, payments and bank deposits, and the connectors' durable rows."""

from madoguchi.commerce.models.integrations import (
    CommerceConnection,
    OrderImport,
    WebhookDelivery,
)
from madoguchi.commerce.models.orders import (
    Order,
    OrderLine,
    OrderNotice,
    OrderRequest,
    OrderStatusChange,
    PaymentMethod,
    PaymentStatus,
    Shipment,
    TicketOrderLink,
)
from madoguchi.commerce.models.payments import Deposit, DepositCandidate, DepositImport, Payment

__all__ = [
    "CommerceConnection",
    "Deposit",
    "DepositCandidate",
    "DepositImport",
    "Order",
    "OrderImport",
    "OrderLine",
    "OrderNotice",
    "OrderRequest",
    "OrderStatusChange",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Shipment",
    "TicketOrderLink",
    "WebhookDelivery",
]
