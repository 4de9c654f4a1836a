import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_topic_facts"),
        ("conversations", "0004_delivery_failure"),
        ("tenancy", "0004_workspace_staff_ip_allowlist"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_on", models.DateField()),
                ("channel", models.CharField(max_length=16)),
                ("tickets", models.PositiveIntegerField(default=0)),
                ("new_customers", models.PositiveIntegerField(default=0)),
                ("resolved", models.PositiveIntegerField(default=0)),
                ("ever_resolved", models.PositiveIntegerField(default=0)),
                ("reopened", models.PositiveIntegerField(default=0)),
                ("one_touch", models.PositiveIntegerField(default=0)),
                ("csat_requested", models.PositiveIntegerField(default=0)),
                ("csat_answered", models.PositiveIntegerField(default=0)),
                ("csat_total", models.PositiveIntegerField(default=0)),
                ("open_tickets", models.PositiveIntegerField(default=0)),
                (
                    "assignee",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "category",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="conversations.category",
                    ),
                ),
                (
                    "shop",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="tenancy.shop",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["shop", "created_on"], name="dailycount_shop_day")
                ],
            },
        ),
        migrations.CreateModel(
            name="DailyDistribution",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("hours", models.JSONField(default=list)),
                ("tags", models.JSONField(default=dict)),
                ("durations", models.JSONField(default=dict)),
                (
                    "shop",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="tenancy.shop",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("shop", "day"), name="dailydistribution_unique_day"
                    )
                ],
            },
        ),
    ]
