"""The registry of audit action names; `record()` refuses any other."""

USER_LOGGED_IN = "user.logged_in"
USER_LOGIN_FAILED = "user.login_failed"
USER_LOGGED_OUT = "user.logged_out"
# accounts: sign-in security
USER_LOGIN_LOCKED = "user.login_locked"
USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 - an action name
USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 - an action name
USER_PROFILE_CHANGED = "user.profile_changed"
USER_TWO_FACTOR_ENABLED = "user.two_factor_enabled"
USER_TWO_FACTOR_DISABLED = "user.two_factor_disabled"
USER_RECOVERY_CODES_REGENERATED = "user.recovery_codes_regenerated"
WORKSPACE_SECURITY_CHANGED = "workspace.security_changed"
USER_IP_REFUSED = "user.ip_refused"  # the workspace's IP allowlist refused a staff request
USER_SESSION_EXPIRED = "user.session_expired"  # signed out after idling or at the maximum age
AUDIT_EXPORTED = "audit.exported"  # the audit log was downloaded as CSV
TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_ASSIGNED = "ticket.assigned"
MESSAGE_ADDED = "message.added"
MESSAGE_DELIVERY_HANDLED = "message.delivery_handled"
ATTACHMENT_DOWNLOADED = "attachment.downloaded"
ATTACHMENT_MALWARE_FOUND = "attachment.malware_found"  # the virus scanner flagged a file
# A supervisor downloaded a flagged file anyway, with the reason they gave.
ATTACHMENT_RELEASED = "attachment.released"
TICKET_MERGED = "ticket.merged"
TICKET_SPLIT = "ticket.split"
REPLY_DRAFT_SUBMITTED = "reply.draft_submitted"
REPLY_DRAFT_APPROVED = "reply.draft_approved"
REPLY_DRAFT_RETURNED = "reply.draft_returned"
REPLY_TEMPLATE_SAVED = "reply_template.saved"
AFTER_HOURS_CHANGED = "after_hours.changed"
CUSTOMER_CREATED = "customer.created"
CUSTOMER_VIEWED = "customer.viewed"
CUSTOMERS_SEARCHED = "customers.searched"  # a list of customers with their contacts was shown
CUSTOMER_MERGED = "customer.merged"
CUSTOMER_NOTE_CHANGED = "customer.note_changed"
CUSTOMER_PII_REVEALED = "customer.pii_revealed"  # masked contacts shown, with a reason
DEMO_LOADED = "demo.loaded"
# mail
MAIL_REPROCESSED = "mail.reprocessed"
MAIL_SETTINGS_CHANGED = "mail.settings_changed"
MAIL_ADDRESS_CREATED = "mail.address_created"
MAIL_ADDRESS_CHANGED = "mail.address_changed"
MAIL_ADDRESS_DELETED = "mail.address_deleted"
MAILBOX_CREATED = "mail.mailbox_created"
MAILBOX_CHANGED = "mail.mailbox_changed"
MAILBOX_DELETED = "mail.mailbox_deleted"
MAILBOX_TESTED = "mail.mailbox_tested"
SMTP_SERVER_CREATED = "mail.smtp_server_created"
SMTP_SERVER_CHANGED = "mail.smtp_server_changed"
SMTP_SERVER_DELETED = "mail.smtp_server_deleted"
SMTP_SERVER_TESTED = "mail.smtp_server_tested"
MAIL_OUTBOUND_RETRIED = "mail.outbound_retried"
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
# operations: business calendar, SLA policies, routing
CALENDAR_CHANGED = "calendar.changed"
CLOSURE_ADDED = "calendar.closure_added"
CLOSURE_DELETED = "calendar.closure_deleted"
SLA_POLICY_SAVED = "sla_policy.saved"
SLA_POLICY_DELETED = "sla_policy.deleted"
ROUTING_CHANGED = "routing.changed"
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
# administration: channels (phone numbers, cart connections, LINE channels)
PHONE_NUMBER_ADDED = "phone_number.added"
PHONE_NUMBER_CHANGED = "phone_number.changed"
PHONE_NUMBER_REMOVED = "phone_number.removed"
COMMERCE_CONNECTION_CREATED = "commerce_connection.created"
COMMERCE_CONNECTION_CHANGED = "commerce_connection.changed"
COMMERCE_CONNECTION_ROTATED = "commerce_connection.rotated"
COMMERCE_CONNECTION_DELETED = "commerce_connection.deleted"
LINE_CHANNEL_CHANGED = "line.channel_changed"
# administration: people (invitations, roles, assignments, skills, deactivation)
INVITATION_SENT = "invitation.sent"
INVITATION_RESENT = "invitation.resent"
INVITATION_REVOKED = "invitation.revoked"
INVITATION_ACCEPTED = "invitation.accepted"
INVITATION_ACCOUNT_REOPENED = "invitation.account_reopened"
MEMBERSHIP_CHANGED = "membership.changed"
MEMBERSHIP_DEACTIVATED = "membership.deactivated"
MEMBERSHIP_REACTIVATED = "membership.reactivated"
OPERATOR_LANGUAGES_CHANGED = "operator.languages_changed"

# administration: workspaces, shops, engagements, categories and tags
WORKSPACE_CREATED = "workspace.created"
WORKSPACE_UPDATED = "workspace.updated"
SHOP_CREATED = "shop.created"
SHOP_UPDATED = "shop.updated"
SHOP_ARCHIVED = "shop.archived"
SHOP_UNARCHIVED = "shop.unarchived"
ENGAGEMENT_CREATED = "engagement.created"
ENGAGEMENT_UPDATED = "engagement.updated"
ENGAGEMENT_ENDED = "engagement.ended"
ENGAGEMENT_INVITED = "engagement.invited"
ENGAGEMENT_INVITATION_CANCELLED = "engagement.invitation_cancelled"
CATEGORY_SAVED = "category.saved"
CATEGORY_DELETED = "category.deleted"
TAG_SAVED = "tag.saved"
TAG_DELETED = "tag.deleted"

# privacy: retention policies and APPI requests (ADR 0015)
PRIVACY_RETENTION_CHANGED = "privacy.retention_changed"
PRIVACY_CUSTOMER_EXPORTED = "privacy.customer_exported"
PRIVACY_CUSTOMER_ERASED = "privacy.customer_erased"
PRIVACY_SHOP_DELETED = "privacy.shop_deleted"

# billing: issuer settings, contracts, invoices and credit notes (ADR 0024)
BILLING_SETTINGS_CHANGED = "billing.settings_changed"
BILLING_CONTRACT_CREATED = "billing.contract_created"
BILLING_CONTRACT_CHANGED = "billing.contract_changed"
BILLING_INVOICE_DRAFTED = "billing.invoice_drafted"
BILLING_INVOICE_DISCARDED = "billing.invoice_discarded"
BILLING_INVOICE_ISSUED = "billing.invoice_issued"
BILLING_CREDIT_NOTE_ISSUED = "billing.credit_note_issued"
BILLING_INVOICES_EXPORTED = "billing.exported"  # the accounting CSV was downloaded

# knowledge: articles, help center settings, FAQ candidates, improvement list
KNOWLEDGE_SETTINGS_CHANGED = "knowledge.settings_changed"
KNOWLEDGE_CATEGORY_SAVED = "knowledge.category_saved"
KNOWLEDGE_ARTICLE_CREATED = "knowledge.article_created"
KNOWLEDGE_ARTICLE_UPDATED = "knowledge.article_updated"
KNOWLEDGE_ARTICLE_PUBLISHED = "knowledge.article_published"
KNOWLEDGE_ARTICLE_ARCHIVED = "knowledge.article_archived"
KNOWLEDGE_CANDIDATE_CONVERTED = "knowledge.candidate_converted"
KNOWLEDGE_CANDIDATE_DISMISSED = "knowledge.candidate_dismissed"
KNOWLEDGE_IMPROVEMENT_SAVED = "knowledge.improvement_saved"
# analytics (ADR 0022)
ANALYTICS_SETTINGS_CHANGED = "analytics.settings_changed"
ANALYTICS_EXPORTED = "analytics.exported"  # tickets or figures downloaded as CSV
# reports: the monthly client report
REPORT_SETTINGS_CHANGED = "report.settings_changed"
REPORT_POINT_SAVED = "report.point_saved"  # an improvement point written, accepted or removed
REPORT_GENERATED = "report.generated"
REPORT_SENT = "report.sent"
REPORT_VIEWED = "report.viewed"
REPORT_DOWNLOADED = "report.downloaded"  # the PDF was downloaded
# csat: the survey settings and customers' opt-outs
CSAT_SETTINGS_CHANGED = "csat.settings_changed"
CSAT_OPT_OUT_CHANGED = "csat.opt_out_changed"

ALL = frozenset(
    {
        USER_LOGGED_IN,
        USER_LOGIN_FAILED,
        USER_LOGGED_OUT,
        USER_LOGIN_LOCKED,
        USER_PASSWORD_CHANGED,
        USER_PASSWORD_RESET,
        USER_PROFILE_CHANGED,
        USER_TWO_FACTOR_ENABLED,
        USER_TWO_FACTOR_DISABLED,
        USER_RECOVERY_CODES_REGENERATED,
        WORKSPACE_SECURITY_CHANGED,
        USER_IP_REFUSED,
        USER_SESSION_EXPIRED,
        AUDIT_EXPORTED,
        TICKET_CREATED,
        TICKET_UPDATED,
        TICKET_ASSIGNED,
        MESSAGE_ADDED,
        MESSAGE_DELIVERY_HANDLED,
        ATTACHMENT_DOWNLOADED,
        ATTACHMENT_MALWARE_FOUND,
        ATTACHMENT_RELEASED,
        TICKET_MERGED,
        TICKET_SPLIT,
        REPLY_DRAFT_SUBMITTED,
        REPLY_DRAFT_APPROVED,
        REPLY_DRAFT_RETURNED,
        REPLY_TEMPLATE_SAVED,
        AFTER_HOURS_CHANGED,
        CUSTOMER_CREATED,
        CUSTOMER_VIEWED,
        CUSTOMERS_SEARCHED,
        CUSTOMER_MERGED,
        CUSTOMER_NOTE_CHANGED,
        CUSTOMER_PII_REVEALED,
        DEMO_LOADED,
        MAIL_REPROCESSED,
        MAIL_SETTINGS_CHANGED,
        MAIL_ADDRESS_CREATED,
        MAIL_ADDRESS_CHANGED,
        MAIL_ADDRESS_DELETED,
        MAILBOX_CREATED,
        MAILBOX_CHANGED,
        MAILBOX_DELETED,
        MAILBOX_TESTED,
        SMTP_SERVER_CREATED,
        SMTP_SERVER_CHANGED,
        SMTP_SERVER_DELETED,
        SMTP_SERVER_TESTED,
        MAIL_OUTBOUND_RETRIED,
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
        CALENDAR_CHANGED,
        CLOSURE_ADDED,
        CLOSURE_DELETED,
        SLA_POLICY_SAVED,
        SLA_POLICY_DELETED,
        ROUTING_CHANGED,
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
        PHONE_NUMBER_ADDED,
        PHONE_NUMBER_CHANGED,
        PHONE_NUMBER_REMOVED,
        COMMERCE_CONNECTION_CREATED,
        COMMERCE_CONNECTION_CHANGED,
        COMMERCE_CONNECTION_ROTATED,
        COMMERCE_CONNECTION_DELETED,
        LINE_CHANNEL_CHANGED,
        INVITATION_SENT,
        INVITATION_RESENT,
        INVITATION_REVOKED,
        INVITATION_ACCEPTED,
        INVITATION_ACCOUNT_REOPENED,
        MEMBERSHIP_CHANGED,
        MEMBERSHIP_DEACTIVATED,
        MEMBERSHIP_REACTIVATED,
        OPERATOR_LANGUAGES_CHANGED,
        WORKSPACE_CREATED,
        WORKSPACE_UPDATED,
        SHOP_CREATED,
        SHOP_UPDATED,
        SHOP_ARCHIVED,
        SHOP_UNARCHIVED,
        ENGAGEMENT_CREATED,
        ENGAGEMENT_UPDATED,
        ENGAGEMENT_ENDED,
        ENGAGEMENT_INVITED,
        ENGAGEMENT_INVITATION_CANCELLED,
        CATEGORY_SAVED,
        CATEGORY_DELETED,
        TAG_SAVED,
        TAG_DELETED,
        PRIVACY_RETENTION_CHANGED,
        PRIVACY_CUSTOMER_EXPORTED,
        PRIVACY_CUSTOMER_ERASED,
        PRIVACY_SHOP_DELETED,
        BILLING_SETTINGS_CHANGED,
        BILLING_CONTRACT_CREATED,
        BILLING_CONTRACT_CHANGED,
        BILLING_INVOICE_DRAFTED,
        BILLING_INVOICE_DISCARDED,
        BILLING_INVOICE_ISSUED,
        BILLING_CREDIT_NOTE_ISSUED,
        BILLING_INVOICES_EXPORTED,
        KNOWLEDGE_SETTINGS_CHANGED,
        KNOWLEDGE_CATEGORY_SAVED,
        KNOWLEDGE_ARTICLE_CREATED,
        KNOWLEDGE_ARTICLE_UPDATED,
        KNOWLEDGE_ARTICLE_PUBLISHED,
        KNOWLEDGE_ARTICLE_ARCHIVED,
        KNOWLEDGE_CANDIDATE_CONVERTED,
        KNOWLEDGE_CANDIDATE_DISMISSED,
        KNOWLEDGE_IMPROVEMENT_SAVED,
        ANALYTICS_SETTINGS_CHANGED,
        ANALYTICS_EXPORTED,
        REPORT_SETTINGS_CHANGED,
        REPORT_POINT_SAVED,
        REPORT_GENERATED,
        REPORT_SENT,
        REPORT_VIEWED,
        REPORT_DOWNLOADED,
        CSAT_SETTINGS_CHANGED,
        CSAT_OPT_OUT_CHANGED,
    }
)
