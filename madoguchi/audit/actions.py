"""The registry of audit action names; `record()` refuses any other."""

USER_LOGGED_IN = "user.logged_in"
USER_LOGIN_FAILED = "user.login_failed"
USER_LOGGED_OUT = "user.logged_out"
TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_ASSIGNED = "ticket.assigned"
MESSAGE_ADDED = "message.added"
CUSTOMER_CREATED = "customer.created"
CUSTOMER_VIEWED = "customer.viewed"
DEMO_LOADED = "demo.loaded"
# mail
MAIL_REPROCESSED = "mail.reprocessed"
MAIL_SETTINGS_CHANGED = "mail.settings_changed"

ALL = frozenset(
    {
        USER_LOGGED_IN,
        USER_LOGIN_FAILED,
        USER_LOGGED_OUT,
        TICKET_CREATED,
        TICKET_UPDATED,
        TICKET_ASSIGNED,
        MESSAGE_ADDED,
        CUSTOMER_CREATED,
        CUSTOMER_VIEWED,
        DEMO_LOADED,
        MAIL_REPROCESSED,
        MAIL_SETTINGS_CHANGED,
    }
)
