from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_handle_time_and_facts_rebuild"),
    ]

    operations = [
        migrations.AddField(
            model_name="dailydistribution",
            name="open_tickets",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
