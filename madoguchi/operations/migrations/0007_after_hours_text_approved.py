"""Only an after-hours text a supervisor or admin saved is sent to customers.

Texts saved before that rule keep their approval only if the last person who saved them (the
after-hours audit entry) leads the shop today: an active admin or supervisor of the shop's own
workspace or of an agency engaged with it. Any other text stays on the page but is not sent (the
standard text goes instead) until a lead saves it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q
from django.utils import timezone

LEADS = ("admin", "supervisor")


def approve_texts_saved_by_leads(apps, schema_editor):
    after_hours = apps.get_model("operations", "AfterHoursSettings")._base_manager
    entries = apps.get_model("audit", "AuditEntry")._base_manager
    memberships = apps.get_model("tenancy", "Membership")._base_manager
    engagements = apps.get_model("tenancy", "Engagement")._base_manager
    today = timezone.localdate()
    for row in after_hours.exclude(body="").select_related("shop"):
        entry = (
            entries.filter(
                action="after_hours.changed",
                target_type="operations.afterhourssettings",
                target_id=str(row.pk),
                actor__isnull=False,
            )
            .order_by("-occurred_at", "-id")
            .first()
        )
        if entry is None:
            continue
        agencies = engagements.filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=today),
            shop_id=row.shop_id,
            starts_on__lte=today,
        ).values("agency_id")
        is_lead = memberships.filter(
            Q(workspace_id=row.shop.workspace_id) | Q(workspace_id__in=agencies),
            user_id=entry.actor_id,
            role__in=LEADS,
            is_active=True,
        ).exists()
        if is_lead:
            after_hours.filter(pk=row.pk).update(
                body_approved_by_id=entry.actor_id, body_approved_at=entry.occurred_at
            )


class Migration(migrations.Migration):
    dependencies = [
        ("operations", "0006_calendar_time_zone_is_the_shops"),
        ("audit", "0001_initial"),
        ("tenancy", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="afterhourssettings",
            name="body_approved_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="text approved at"),
        ),
        migrations.AddField(
            model_name="afterhourssettings",
            name="body_approved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="text approved by",
            ),
        ),
        migrations.RunPython(approve_texts_saved_by_leads, migrations.RunPython.noop),
    ]
