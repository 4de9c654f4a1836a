"""The words of a shop's survey in the customer's language: the shop's own, else our defaults.

Shops write their wording per language (Japanese and English) on the settings page; these
defaults are the texts a shop starts from, so they are stored per language here rather than
translated through the UI catalog (the customer's language is the ticket's, not the viewer's).
"""

from __future__ import annotations

from dataclasses import dataclass

from madoguchi.csat.models import CsatSettings

LANGUAGES = ("ja", "en")

DEFAULTS: dict[str, dict[str, str]] = {
    "ja": {
        "question": (
            "この度のお問い合わせへの対応はいかがでしたか？1（不満）〜5（満足）でお答えください。"
        ),
        "comment_prompt": "よろしければ、ご意見・ご感想をお聞かせください（任意）。",
        "thanks": "ご回答ありがとうございました。今後のサービス向上に役立てさせていただきます。",
        "link": "こちらからご回答いただけます（7日以内なら回答を変更できます）：",
    },
    "en": {
        "question": "How did we do with your inquiry? Please rate us from 1 (poor) to 5 (great).",
        "comment_prompt": "Anything you would like to tell us? (optional)",
        "thanks": "Thank you for your answer. It helps us improve our support.",
        "link": "Answer here (you can change your answer within 7 days):",
    },
}


def survey_language(language: str) -> str:
    """Return the survey language for a ticket's language: English for English, else Japanese."""
    return "en" if language.lower().startswith("en") else "ja"


@dataclass(frozen=True)
class Wording:
    question: str
    comment_prompt: str
    thanks: str
    link: str


def wording_for(settings: CsatSettings | None, language: str) -> Wording:
    """Return the survey's texts in `language` ("ja" or "en"), the shop's where it wrote them."""
    language = language if language in LANGUAGES else "ja"
    defaults = DEFAULTS[language]

    def text(name: str) -> str:
        own = getattr(settings, f"{name}_{language}", "") if settings is not None else ""
        return str(own).strip() or defaults[name]

    return Wording(
        question=text("question"),
        comment_prompt=text("comment_prompt"),
        thanks=text("thanks"),
        link=defaults["link"],
    )


def survey_text(wording: Wording, url: str) -> str:
    """Return the survey message: the question, then the link to the survey page."""
    return f"{wording.question}\n\n{wording.link}\n{url}"
