"""Display names of SLA metrics (the values are stored and reported, the labels are shown)."""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from madoguchi.operations.sla import Metric

METRIC_LABELS: dict[str, Promise] = {
    Metric.FIRST_RESPONSE: _("First response"),
    Metric.NEXT_RESPONSE: _("Next response"),
    Metric.RESOLUTION: _("Resolution"),
}
