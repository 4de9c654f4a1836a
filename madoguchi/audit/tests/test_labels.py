"""Every registered action has a Japanese label and exactly one group, the same in Python as in
the database filter."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from madoguchi.audit import actions, labels
from madoguchi.audit.models import AuditEntry

# Groups a few actions must fall in (the rest is spread by prefix).
EXPECTED_GROUPS = {
    actions.USER_LOGGED_IN: "sign_in",
    actions.USER_LOGIN_FAILED: "sign_in",
    actions.USER_IP_REFUSED: "sign_in",
    actions.USER_SESSION_EXPIRED: "sign_in",
    actions.CUSTOMER_VIEWED: "personal_data",
    actions.CUSTOMERS_SEARCHED: "personal_data",
    actions.ATTACHMENT_DOWNLOADED: "personal_data",
    actions.AUDIT_EXPORTED: "export",
    actions.MEMBERSHIP_CHANGED: "permissions",
    actions.WORKSPACE_SECURITY_CHANGED: "permissions",
    actions.SLA_POLICY_SAVED: "settings",
    actions.WORKSPACE_UPDATED: "settings",
    actions.TICKET_UPDATED: "work",
    actions.CUSTOMER_CREATED: "work",
    actions.CUSTOMER_PII_REVEALED: "personal_data",
    actions.PRIVACY_CUSTOMER_EXPORTED: "export",
    actions.PRIVACY_CUSTOMER_ERASED: "personal_data",
    actions.PRIVACY_RETENTION_CHANGED: "settings",
}


def test_every_action_has_a_label_translated_into_japanese() -> None:
    assert sorted(actions.ALL - set(labels.LABELS)) == []
    with translation.override("ja"):
        untranslated = [
            action
            for action, label in labels.LABELS.items()
            if not re.search("[\u3040-\u30ff\u4e00-\u9fff]", str(label))
        ]
    assert untranslated == []


def test_groups_of_known_actions() -> None:
    assert {action: labels.group_of(action).key for action in EXPECTED_GROUPS} == EXPECTED_GROUPS


@pytest.mark.django_db
def test_the_database_filter_puts_every_action_in_the_same_one_group() -> None:
    AuditEntry.objects.bulk_create(
        AuditEntry(occurred_at="2026-12-01T00:00:00Z", action=action) for action in actions.ALL
    )
    found: dict[str, list[str]] = {}
    for group in labels.ALL_GROUPS:
        for action in AuditEntry.objects.filter(labels.group_q(group.key)).values_list(
            "action", flat=True
        ):
            found.setdefault(action, []).append(group.key)
    assert found == {action: [labels.group_of(action).key] for action in actions.ALL}
