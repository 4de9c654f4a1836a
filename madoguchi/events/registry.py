"""The one registry of event types: dotted names with the version of their payload.

Readers (websocket catch-up, SLA clocks, analytics, billing) dispatch on `type` and
`payload_version`; a payload change bumps the version here and readers handle both.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    description: str


_TYPES = [
    EventType("ticket.created", 1, "A ticket was opened (payload: channel, subject, via)."),
    EventType("message.received", 1, "The customer wrote (payload: message_id, channel)."),
    EventType("message.replied", 1, "Staff replied to the customer (payload: message_id)."),
    EventType("message.noted", 1, "Staff added an internal note (payload: message_id)."),
    EventType("ticket.status_changed", 1, "Status changed (payload: old, new)."),
    EventType("ticket.priority_changed", 1, "Priority changed (payload: old, new)."),
    EventType(
        "ticket.assigned",
        1,
        "Assignee changed (payload: old_user_id, new_user_id; when the system routed it also"
        " rule, and reason such as sla-breach).",
    ),
    EventType("ticket.category_changed", 1, "Category changed (payload: old, new)."),
    EventType(
        "ticket.worked",
        1,
        "Staff worked on the ticket page, visible and focused (payload: seconds,"
        " composing_seconds: the part spent typing in the composer; the actor is the person).",
    ),
    EventType("ticket.tags_changed", 1, "Tags changed (payload: added, removed)."),
    EventType(
        "message.auto_replied",
        1,
        "An automatic reply was sent, not a response (payload: message_id, channel, reason).",
    ),
    EventType(
        "ticket.merged",
        1,
        "Tickets were merged (payload: source_id, source_number, target_id, target_number,"
        " message_ids).",
    ),
    EventType(
        "ticket.split",
        1,
        "A message moved to a new ticket (payload: message_id, source_id, source_number,"
        " new_id, new_number).",
    ),
    EventType(
        "reply.draft_submitted", 1, "A trainee's reply waits for approval (payload: draft_id)."
    ),
    EventType(
        "reply.draft_approved",
        1,
        "A trainee's reply was approved and sent (payload: draft_id, message_id, is_edited).",
    ),
    EventType(
        "reply.draft_returned", 1, "A trainee's reply was sent back (payload: draft_id, comment)."
    ),
    EventType("customer.created", 1, "A customer record was created (payload: customer_id)."),
    EventType(
        "customer.merged",
        1,
        "A customer was merged into another and deleted (payload: source_id, target_id).",
    ),
    EventType(
        "line.followed",
        1,
        "A LINE user added the shop's account (payload: line_event_id, customer_id, is_unblocked).",
    ),
    EventType(
        "line.unfollowed",
        1,
        "A LINE user blocked the shop's account (payload: line_event_id, customer_id).",
    ),
    EventType(
        "mail.bounced",
        1,
        "A mail we sent bounced or was reported (payload: raw_mail_id, kind, status, recipient, "
        "is_permanent).",
    ),
    EventType(
        "mail.acknowledged",
        1,
        "An automatic acknowledgement was queued (payload: outbound_mail_id, to).",
    ),
    EventType(
        "mail.loop_detected",
        1,
        "The loop breaker held back automatic mail to a sender (payload: address, count).",
    ),
    EventType(
        "sla.breached", 1, "An SLA target passed unmet (payload: metric, cycle, due_at, policy_id)."
    ),
    EventType(
        "sla.warning",
        1,
        "An SLA target is due soon (payload: metric, cycle, due_at, policy_id, minutes_left).",
    ),
    EventType(
        "sla.escalated",
        2,
        "A breach was escalated to the shop's leads (payload: metric, cycle, supervisor_ids;"
        " since version 2 also reassignment (off, finished, reassigned, nobody_eligible,"
        " assigned_meanwhile), previous_assignee_id, assignee_id).",
    ),
    EventType("order.created", 1, "An order was recorded (payload: order_id, number)."),
    EventType("order.status_changed", 1, "Order status changed (payload: order_id, old, new)."),
    EventType("order.paid", 1, "An order was paid in full (payload: order_id, deposit_id)."),
    EventType("shipment.created", 1, "A shipment was recorded (payload: order_id, carrier)."),
    EventType("deposit.review", 1, "A deposit waits for review (payload: deposit_id)."),
    EventType(
        "billing.invoice_issued",
        1,
        "The agency issued an invoice or credit note to the shop (payload: invoice_id, number,"
        " kind, period_start, total).",
    ),
    EventType(
        "billing.usage_alert",
        1,
        "The shop's contacts this month reached a share of its plan's cap (payload:"
        " contract_id, month, threshold, contacts, cap).",
    ),
    EventType(
        "csat.requested",
        1,
        "A CSAT survey went out after the ticket was solved (payload: survey_id, channel,"
        " message_id, language).",
    ),
    EventType(
        "csat.answered",
        1,
        "The customer answered a CSAT survey or changed the answer (payload: survey_id, channel,"
        " score, previous_score (null for a first answer), has_comment, comment_length, via:"
        " page or line).",
    ),
    EventType(
        "knowledge.suggestion_shown",
        1,
        "Help articles were suggested to a visitor typing (payload: visitor, source, article_ids).",
    ),
    EventType(
        "knowledge.suggestion_opened",
        1,
        "A visitor opened a suggested article (payload: visitor, source, article_id).",
    ),
    EventType(
        "knowledge.suggestion_contacted",
        1,
        "A visitor who was shown suggestions wrote to the shop anyway (payload: visitor, source).",
    ),
]

EVENT_TYPES: dict[str, EventType] = {event_type.name: event_type for event_type in _TYPES}


def get_event_type(name: str) -> EventType:
    """Return the registered type `name`, or raise KeyError for an unknown one."""
    return EVENT_TYPES[name]
