from django.db import models


class Lease(models.Model):
    """A named lease taken by a conditional UPDATE, so exactly one process holds it at a time."""

    name = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} ({self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S})"
