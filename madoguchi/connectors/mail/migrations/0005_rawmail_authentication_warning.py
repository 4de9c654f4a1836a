from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('mail', '0004_claimed_by'),
    ]

    operations = [
        migrations.AddField(
            model_name='rawmail',
            name='authentication_warning',
            field=models.CharField(blank=True, choices=[('', '—'), ('dmarc_failed', 'DMARC check failed'), ('unverified', 'Not verified')], default='', max_length=16, verbose_name='sender authentication'),
        ),
    ]
