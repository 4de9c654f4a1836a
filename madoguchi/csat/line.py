"""The survey on LINE: 1-5 quick reply buttons under the survey message, answered by postback.

A button's postback data is `csat:<survey id>:<score>`. It names no secret: LINE signs the
webhook, and the answer counts only when the LINE user who pressed it is the ticket's customer.
The answer is no customer message (the solved ticket stays solved); the thanks go back as an
automatic message.
"""

from __future__ import annotations

from typing import Any

from madoguchi.connectors.line.extensions import PostbackContext
from madoguchi.conversations.models import Message
from madoguchi.conversations.services import message_auto_reply
from madoguchi.csat.models import CsatSurvey
from madoguchi.csat.services import SurveyClosedError, csat_settings_for, survey_answer
from madoguchi.csat.wording import wording_for

POSTBACK_PREFIX = "csat:"
SCORES = (1, 2, 3, 4, 5)


def postback_data(survey_id: int, score: int) -> str:
    return f"{POSTBACK_PREFIX}{survey_id}:{score}"


def survey_quick_replies(message: Message) -> list[dict[str, Any]] | None:
    """Return the 1-5 buttons when `message` is a survey still taking answers."""
    survey = (
        CsatSurvey.objects.filter(message_id=message.id, status=CsatSurvey.Status.SENT)
        .only("id")
        .first()
    )
    if survey is None:
        return None
    return [
        {
            "type": "action",
            "action": {
                "type": "postback",
                "label": str(score),
                "data": postback_data(survey.id, score),
                "displayText": str(score),
            },
        }
        for score in SCORES
    ]


def _parse(data: str) -> tuple[int, int] | None:
    parts = data[len(POSTBACK_PREFIX) :].split(":")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        return None
    survey_id, score = int(parts[0]), int(parts[1])
    return (survey_id, score) if score in SCORES else None


def survey_postback(context: PostbackContext) -> bool:
    """Record a score pressed on LINE; return True when the postback was a survey's."""
    parsed = _parse(context.data)
    if parsed is None:
        return False
    survey_id, score = parsed
    survey = (
        CsatSurvey.objects.filter(pk=survey_id, shop_id=context.shop.id)
        .select_related("ticket")
        .first()
    )
    if survey is None or survey.ticket.customer_id != context.customer.id:
        return False
    try:
        survey = survey_answer(survey=survey, score=score, via="line", now=context.occurred_at)
    except SurveyClosedError:
        # A late press: taken (it is no message for the ticket), nothing recorded.
        return True
    wording = wording_for(csat_settings_for(shop_id=survey.shop_id), survey.language)
    message_auto_reply(ticket=survey.ticket, body_text=wording.thanks, reason="csat")
    return True
