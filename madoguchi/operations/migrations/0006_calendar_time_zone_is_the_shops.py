"""The business calendar counts in the shop's time zone: `Shop.time_zone` is the one source.

Before, the calendar page kept its own zone (the SLA clocks used it) and the shop's settings page
another (shifts and coverage used that). Where the two differ, a zone somebody chose wins over
the default Asia/Tokyo, and the calendar's wins when both were chosen: the SLA due times stored
for open tickets were computed with it, so they stay right. (A shop that had chosen a zone only
on its settings page gets its open tickets' clocks recomputed at their next event.)
"""

from django.db import migrations

DEFAULT_ZONE = "Asia/Tokyo"


def zone_to_shop(apps, schema_editor):
    calendars = apps.get_model("operations", "BusinessCalendarSettings")
    shops = apps.get_model("tenancy", "Shop")
    for calendar in calendars._base_manager.select_related("shop").iterator():
        shop = calendar.shop
        if calendar.time_zone == shop.time_zone or calendar.time_zone == DEFAULT_ZONE:
            continue
        shops._base_manager.filter(pk=shop.pk).update(time_zone=calendar.time_zone)


def zone_to_calendar(apps, schema_editor):
    calendars = apps.get_model("operations", "BusinessCalendarSettings")
    for calendar in calendars._base_manager.select_related("shop").iterator():
        if calendar.time_zone != calendar.shop.time_zone:
            calendar.time_zone = calendar.shop.time_zone
            calendar.save(update_fields=["time_zone"])


class Migration(migrations.Migration):
    dependencies = [
        ("operations", "0005_routingsettings_channel_modes_and_more"),
        ("tenancy", "0003_engagement_invitation"),
    ]

    operations = [
        migrations.RunPython(zone_to_shop, zone_to_calendar, elidable=True),
        migrations.RemoveField(model_name="businesscalendarsettings", name="time_zone"),
    ]
