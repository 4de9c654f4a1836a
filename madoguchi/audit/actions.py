"""The registry of audit action names; `record()` refuses any other."""

USER_LOGGED_IN = "user.logged_in"
USER_LOGIN_FAILED = "user.login_failed"
USER_LOGGED_OUT = "user.logged_out"
TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_ASSIGNED = "ticket.assigned"
MESSAGE_ADDED = "message.added"
ATTACHMENT_DOWNLOADED = "attachment.downloaded"
TICKET_MERGED = "ticket.merged"
TICKET_SPLIT = "ticket.split"
REPLY_DRAFT_SUBMITTED = "reply.draft_submitted"
REPLY_DRAFT_APPROVED = "reply.draft_approved"
REPLY_DRAFT_RETURNED = "reply.draft_returned"
REPLY_TEMPLATE_SAVED = "reply_template.saved"
AFTER_HOURS_CHANGED = "after_hours.changed"
CUSTOMER_CREATED = "customer.created"
CUSTOMER_VIEWED = "customer.viewed"
CUSTOMER_MERGED = "customer.merged"
DEMO_LOADED = "demo.loaded"
# mail
MAIL_REPROCESSED = "mail.reprocessed"
MAIL_SETTINGS_CHANGED = "mail.settings_changed"
WEBFORM_SETTINGS_CHANGED = "webform.settings_changed"
CHAT_SETTINGS_CHANGED = "chat.settings_changed"
CALL_LOGGED = "call.logged"
CALLBACK_DONE = "call.callback_done"
LINE_CHANNEL_CREATED = "line.channel_created"
# operations: shifts and coverage
SHIFT_SAVED = "shift.saved"
SHIFT_DELETED = "shift.deleted"
OPERATOR_DUTY_CHANGED = "operator.duty_changed"
COVERAGE_PROMISE_CHANGED = "coverage.promise_changed"
BREACH_REASSIGN_CHANGED = "routing.reassign_on_breach_changed"
# commerce
ORDER_CREATED = "order.created"
ORDER_UPDATED = "order.updated"
ORDER_PAYMENT_RECORDED = "order.payment_recorded"
ORDER_REQUEST_CREATED = "order.request_created"
ORDER_REQUEST_UPDATED = "order.request_updated"
ORDER_ADDRESS_CHANGE_REQUESTED = "order.address_change_requested"
ORDER_CANCELLATION_REQUESTED = "order.cancellation_requested"
SHIPMENT_CREATED = "shipment.created"
DEPOSITS_IMPORTED = "deposits.imported"
DEPOSIT_CONFIRMED = "deposit.confirmed"
DEPOSIT_DISMISSED = "deposit.dismissed"
ORDERS_IMPORTED = "orders.imported"
TICKET_ORDER_LINKED = "ticket.order_linked"
ORDER_NOTICE_SENT = "order.notice_sent"

ALL = frozenset(
    {
        USER_LOGGED_IN,
        USER_LOGIN_FAILED,
        USER_LOGGED_OUT,
        TICKET_CREATED,
        TICKET_UPDATED,
        TICKET_ASSIGNED,
        MESSAGE_ADDED,
        ATTACHMENT_DOWNLOADED,
        TICKET_MERGED,
        TICKET_SPLIT,
        REPLY_DRAFT_SUBMITTED,
        REPLY_DRAFT_APPROVED,
        REPLY_DRAFT_RETURNED,
        REPLY_TEMPLATE_SAVED,
        AFTER_HOURS_CHANGED,
        CUSTOMER_CREATED,
        CUSTOMER_VIEWED,
        CUSTOMER_MERGED,
        DEMO_LOADED,
        MAIL_REPROCESSED,
        MAIL_SETTINGS_CHANGED,
        WEBFORM_SETTINGS_CHANGED,
        CHAT_SETTINGS_CHANGED,
        CALL_LOGGED,
        CALLBACK_DONE,
        LINE_CHANNEL_CREATED,
        SHIFT_SAVED,
        SHIFT_DELETED,
        OPERATOR_DUTY_CHANGED,
        COVERAGE_PROMISE_CHANGED,
        BREACH_REASSIGN_CHANGED,
        ORDER_CREATED,
        ORDER_UPDATED,
        ORDER_PAYMENT_RECORDED,
        ORDER_REQUEST_CREATED,
        ORDER_REQUEST_UPDATED,
        ORDER_ADDRESS_CHANGE_REQUESTED,
        ORDER_CANCELLATION_REQUESTED,
        SHIPMENT_CREATED,
        DEPOSITS_IMPORTED,
        DEPOSIT_CONFIRMED,
        DEPOSIT_DISMISSED,
        ORDERS_IMPORTED,
        TICKET_ORDER_LINKED,
        ORDER_NOTICE_SENT,
    }
)
