"""How the audit log page shows actions: a Japanese label for each, and the groups it filters by.

Labels are English msgids translated in `audit/locale`; an action added to `audit.actions`
needs its label here (`test_labels` fails otherwise). Groups are prefixes (or substrings) of
action names, tried in order, so that a filter is one indexed query and every action falls in
exactly one group.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import actions

LABELS: dict[str, str | Promise] = {
    actions.USER_LOGGED_IN: _("Signed in"),
    actions.USER_LOGIN_FAILED: _("Sign-in failed"),
    actions.USER_LOGGED_OUT: _("Signed out"),
    actions.USER_LOGIN_LOCKED: _("Sign-in locked"),
    actions.USER_PASSWORD_CHANGED: _("Password changed"),
    actions.USER_PASSWORD_RESET: _("Password reset"),
    actions.USER_PROFILE_CHANGED: _("Profile changed"),
    actions.USER_TWO_FACTOR_ENABLED: _("Two-step sign-in turned on"),
    actions.USER_TWO_FACTOR_DISABLED: _("Two-step sign-in turned off"),
    actions.USER_RECOVERY_CODES_REGENERATED: _("Recovery codes renewed"),
    actions.WORKSPACE_SECURITY_CHANGED: _("Security settings changed"),
    actions.USER_IP_REFUSED: _("Refused by the IP allowlist"),
    actions.USER_SESSION_EXPIRED: _("Signed out by session expiry"),
    actions.AUDIT_EXPORTED: _("Audit log exported"),
    actions.TICKET_CREATED: _("Ticket created"),
    actions.TICKET_UPDATED: _("Ticket changed"),
    actions.TICKET_ASSIGNED: _("Ticket assigned"),
    actions.MESSAGE_ADDED: _("Message added"),
    actions.MESSAGE_DELIVERY_HANDLED: _("Failed delivery handled"),
    actions.ATTACHMENT_DOWNLOADED: _("Attachment downloaded"),
    actions.ATTACHMENT_MALWARE_FOUND: _("Malware found in an attachment"),
    actions.ATTACHMENT_RELEASED: _("Attachment with malware downloaded"),
    actions.TICKET_MERGED: _("Tickets merged"),
    actions.TICKET_SPLIT: _("Ticket split"),
    actions.REPLY_DRAFT_SUBMITTED: _("Reply submitted for approval"),
    actions.REPLY_DRAFT_APPROVED: _("Reply approved"),
    actions.REPLY_DRAFT_RETURNED: _("Reply returned"),
    actions.REPLY_TEMPLATE_SAVED: _("Reply template saved"),
    actions.AFTER_HOURS_CHANGED: _("After-hours reply changed"),
    actions.CUSTOMER_CREATED: _("Customer created"),
    actions.CUSTOMER_VIEWED: _("Customer page viewed"),
    actions.CUSTOMERS_SEARCHED: _("Customers shown in a search"),
    actions.CUSTOMER_MERGED: _("Customers merged"),
    actions.CUSTOMER_NOTE_CHANGED: _("Customer memo changed"),
    actions.DEMO_LOADED: _("Demo data loaded"),
    actions.MAIL_REPROCESSED: _("Mail processed again"),
    actions.MAIL_SETTINGS_CHANGED: _("Mail settings changed"),
    actions.MAIL_ADDRESS_CREATED: _("Mail address added"),
    actions.MAIL_ADDRESS_CHANGED: _("Mail address changed"),
    actions.MAIL_ADDRESS_DELETED: _("Mail address deleted"),
    actions.MAILBOX_CREATED: _("Mailbox added"),
    actions.MAILBOX_CHANGED: _("Mailbox changed"),
    actions.MAILBOX_DELETED: _("Mailbox deleted"),
    actions.MAILBOX_TESTED: _("Mailbox connection tested"),
    actions.SMTP_SERVER_CREATED: _("Outgoing server added"),
    actions.SMTP_SERVER_CHANGED: _("Outgoing server changed"),
    actions.SMTP_SERVER_DELETED: _("Outgoing server deleted"),
    actions.SMTP_SERVER_TESTED: _("Outgoing server tested"),
    actions.MAIL_OUTBOUND_RETRIED: _("Failed mail sent again"),
    actions.WEBFORM_SETTINGS_CHANGED: _("Web form settings changed"),
    actions.CHAT_SETTINGS_CHANGED: _("Chat settings changed"),
    actions.CALL_LOGGED: _("Call logged"),
    actions.CALLBACK_DONE: _("Callback done"),
    actions.LINE_CHANNEL_CREATED: _("LINE channel added"),
    actions.SHIFT_SAVED: _("Shift saved"),
    actions.SHIFT_DELETED: _("Shift deleted"),
    actions.OPERATOR_DUTY_CHANGED: _("On-duty status changed"),
    actions.COVERAGE_PROMISE_CHANGED: _("Coverage promise changed"),
    actions.BREACH_REASSIGN_CHANGED: _("Reassignment at SLA breach changed"),
    actions.CALENDAR_CHANGED: _("Business calendar changed"),
    actions.CLOSURE_ADDED: _("Closure added"),
    actions.CLOSURE_DELETED: _("Closure deleted"),
    actions.SLA_POLICY_SAVED: _("SLA policy saved"),
    actions.SLA_POLICY_DELETED: _("SLA policy deleted"),
    actions.ROUTING_CHANGED: _("Routing changed"),
    actions.ORDER_CREATED: _("Order created"),
    actions.ORDER_UPDATED: _("Order changed"),
    actions.ORDER_PAYMENT_RECORDED: _("Payment recorded"),
    actions.ORDER_REQUEST_CREATED: _("Order request created"),
    actions.ORDER_REQUEST_UPDATED: _("Order request changed"),
    actions.ORDER_ADDRESS_CHANGE_REQUESTED: _("Address change requested"),
    actions.ORDER_CANCELLATION_REQUESTED: _("Cancellation requested"),
    actions.SHIPMENT_CREATED: _("Shipment added"),
    actions.DEPOSITS_IMPORTED: _("Deposits imported"),
    actions.DEPOSIT_CONFIRMED: _("Deposit confirmed"),
    actions.DEPOSIT_DISMISSED: _("Deposit dismissed"),
    actions.ORDERS_IMPORTED: _("Orders imported"),
    actions.TICKET_ORDER_LINKED: _("Order linked to a ticket"),
    actions.ORDER_NOTICE_SENT: _("Order notice sent"),
    actions.PHONE_NUMBER_ADDED: _("Phone number added"),
    actions.PHONE_NUMBER_CHANGED: _("Phone number changed"),
    actions.PHONE_NUMBER_REMOVED: _("Phone number removed"),
    actions.COMMERCE_CONNECTION_CREATED: _("Store connection added"),
    actions.COMMERCE_CONNECTION_CHANGED: _("Store connection changed"),
    actions.COMMERCE_CONNECTION_ROTATED: _("Store connection secret renewed"),
    actions.COMMERCE_CONNECTION_DELETED: _("Store connection deleted"),
    actions.LINE_CHANNEL_CHANGED: _("LINE channel changed"),
    actions.INVITATION_SENT: _("Invitation sent"),
    actions.INVITATION_RESENT: _("Invitation sent again"),
    actions.INVITATION_REVOKED: _("Invitation revoked"),
    actions.INVITATION_ACCEPTED: _("Invitation accepted"),
    actions.INVITATION_ACCOUNT_REOPENED: _("Account reopened by invitation"),
    actions.MEMBERSHIP_CHANGED: _("Role or shops changed"),
    actions.MEMBERSHIP_DEACTIVATED: _("Person deactivated"),
    actions.MEMBERSHIP_REACTIVATED: _("Person reactivated"),
    actions.OPERATOR_LANGUAGES_CHANGED: _("Operator languages changed"),
    actions.WORKSPACE_CREATED: _("Workspace created"),
    actions.WORKSPACE_UPDATED: _("Workspace changed"),
    actions.SHOP_CREATED: _("Shop created"),
    actions.SHOP_UPDATED: _("Shop changed"),
    actions.SHOP_ARCHIVED: _("Shop archived"),
    actions.SHOP_UNARCHIVED: _("Shop restored"),
    actions.ENGAGEMENT_CREATED: _("Engagement created"),
    actions.ENGAGEMENT_UPDATED: _("Engagement changed"),
    actions.ENGAGEMENT_ENDED: _("Engagement ended"),
    actions.ENGAGEMENT_INVITED: _("Agency invited"),
    actions.ENGAGEMENT_INVITATION_CANCELLED: _("Agency invitation cancelled"),
    actions.CATEGORY_SAVED: _("Category saved"),
    actions.CATEGORY_DELETED: _("Category deleted"),
    actions.TAG_SAVED: _("Tag saved"),
    actions.TAG_DELETED: _("Tag deleted"),
    actions.CUSTOMER_PII_REVEALED: _("Customer contacts revealed"),
    actions.PRIVACY_RETENTION_CHANGED: _("Retention policy changed"),
    actions.PRIVACY_CUSTOMER_EXPORTED: _("Customer data exported"),
    actions.PRIVACY_CUSTOMER_ERASED: _("Customer data erased"),
    actions.PRIVACY_SHOP_DELETED: _("Shop deleted with all its data"),
    actions.BILLING_SETTINGS_CHANGED: _("Billing settings changed"),
    actions.BILLING_CONTRACT_CREATED: _("Contract created"),
    actions.BILLING_CONTRACT_CHANGED: _("Contract changed"),
    actions.BILLING_INVOICE_DRAFTED: _("Invoice drafted"),
    actions.BILLING_INVOICE_DISCARDED: _("Invoice draft discarded"),
    actions.BILLING_INVOICE_ISSUED: _("Invoice issued"),
    actions.BILLING_CREDIT_NOTE_ISSUED: _("Credit note issued"),
    actions.BILLING_INVOICES_EXPORTED: _("Invoices exported"),
    actions.KNOWLEDGE_SETTINGS_CHANGED: _("Knowledge settings changed"),
    actions.KNOWLEDGE_CATEGORY_SAVED: _("Article category saved"),
    actions.KNOWLEDGE_ARTICLE_CREATED: _("Article created"),
    actions.KNOWLEDGE_ARTICLE_UPDATED: _("Article edited"),
    actions.KNOWLEDGE_ARTICLE_PUBLISHED: _("Article published"),
    actions.KNOWLEDGE_ARTICLE_ARCHIVED: _("Article archived"),
    actions.KNOWLEDGE_CANDIDATE_CONVERTED: _("FAQ candidate turned into an article"),
    actions.KNOWLEDGE_CANDIDATE_DISMISSED: _("FAQ candidate dismissed"),
    actions.KNOWLEDGE_IMPROVEMENT_SAVED: _("Improvement item saved"),
    actions.ANALYTICS_SETTINGS_CHANGED: _("Analytics settings changed"),
    actions.ANALYTICS_EXPORTED: _("Analytics exported as CSV"),
    actions.REPORT_SETTINGS_CHANGED: _("Monthly report settings changed"),
    actions.REPORT_POINT_SAVED: _("Monthly report improvement point changed"),
    actions.REPORT_GENERATED: _("Monthly report generated"),
    actions.REPORT_SENT: _("Monthly report mailed"),
    actions.REPORT_VIEWED: _("Monthly report viewed"),
    actions.REPORT_DOWNLOADED: _("Monthly report PDF downloaded"),
    actions.CSAT_SETTINGS_CHANGED: _("CSAT survey settings changed"),
    actions.CSAT_OPT_OUT_CHANGED: _("CSAT survey opt-out changed"),
}


def action_label(action: str) -> str | Promise:
    """Return the action's label (an action without one shows its name)."""
    return LABELS.get(action, action)


@dataclass(frozen=True)
class ActionGroup:
    """A kind of entry to filter by: names starting with `prefixes` or containing `parts`."""

    key: str
    label: str | Promise
    prefixes: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()

    def own_q(self) -> Q:
        query = Q(pk__in=[])
        for prefix in self.prefixes:
            query |= Q(action__startswith=prefix)
        for part in self.parts:
            query |= Q(action__contains=part)
        return query

    def matches(self, action: str) -> bool:
        return action.startswith(self.prefixes) or any(part in action for part in self.parts)


# In order: an action belongs to the first group that matches it; `work` takes the rest.
GROUPS: tuple[ActionGroup, ...] = (
    ActionGroup("export", _("Exports"), parts=("export",)),
    ActionGroup(
        "personal_data",
        _("Personal data"),
        prefixes=(
            "customer.viewed",
            "customers.searched",
            "customer.pii_",
            "attachment.",
            "privacy.customer_",
        ),
    ),
    ActionGroup("sign_in", _("Sign-in and accounts"), prefixes=("user.",)),
    ActionGroup(
        "permissions",
        _("Permissions"),
        prefixes=(
            "membership.",
            "invitation.",
            "engagement.",
            "operator.languages_changed",
            "workspace.security_changed",
        ),
    ),
    ActionGroup(
        "settings",
        _("Settings"),
        prefixes=(
            "workspace.",
            "shop.",
            "mail.",
            "webform.",
            "chat.",
            "line.",
            "phone_number.",
            "commerce_connection.",
            "calendar.",
            "sla_policy.",
            "routing.",
            "coverage.",
            "after_hours.",
            "reply_template.",
            "category.",
            "tag.",
            "privacy.retention",
            "billing.settings",
            "billing.contract",
            "analytics.",
            "knowledge.settings",
            "csat.settings",
            "report.settings",
        ),
    ),
)
WORK_GROUP = ActionGroup("work", _("Tickets, customers and orders"))
ALL_GROUPS = (*GROUPS, WORK_GROUP)


def group_of(action: str) -> ActionGroup:
    """Return the group the action belongs to."""
    return next((group for group in GROUPS if group.matches(action)), WORK_GROUP)


def group_q(key: str) -> Q:
    """Return the filter of the group `key`: its own names, none of an earlier group's."""
    earlier = Q(pk__in=[])
    for group in GROUPS:
        if group.key == key:
            return group.own_q() & ~earlier
        earlier |= group.own_q()
    return ~earlier
