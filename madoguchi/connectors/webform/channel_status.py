"""The web form on the channels overview: on or off, the last submission, the last error."""

from __future__ import annotations

from django.utils.translation import gettext

from madoguchi.connectors.webform.models import Submission, WebForm
from madoguchi.core.channel_status import ChannelState
from madoguchi.tenancy.models import Shop


def webform_state(shop: Shop) -> ChannelState:
    """Connected while the form accepts submissions; an error is a submission's that failed."""
    web_form = WebForm.objects.filter(shop=shop).only("is_enabled").first()
    if web_form is None:
        return ChannelState(is_connected=False, summary=gettext("Not set up yet."))
    submissions = Submission.objects.filter(shop=shop).order_by("-created_at", "-id")
    last_received_at = submissions.values_list("created_at", flat=True).first()
    failed = submissions.exclude(last_error="").values_list("last_error", "created_at").first()
    return ChannelState(
        is_connected=web_form.is_enabled,
        summary=(
            gettext("Accepting submissions")
            if web_form.is_enabled
            else gettext("Not accepting submissions")
        ),
        last_received_at=last_received_at,
        last_error=failed[0] if failed else "",
        last_error_at=failed[1] if failed else None,
    )
