"""Find English in the Japanese UI: msgids the Japanese catalog lacks, and stray English words.

`untranslated_msgids` watches every lookup in the Japanese catalog while a page renders;
`english_words` reads a page's visible text (server HTML, or the text a browser shows) for
English words that reached it without any lookup. Shared by the page test and the browser walk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any

from django.utils.translation import trans_real

_JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


@contextmanager
def untranslated_msgids() -> Iterator[set[str]]:
    """Collect the msgids looked up in the Japanese catalog that it has no translation for.

    Every gettext, pgettext, ngettext and npgettext call ends in `DjangoTranslation.gettext`
    or `.ngettext` of the active language; a context is the msgid's "context\\x04" prefix.
    """
    missing: set[str] = set()
    original_gettext = trans_real.DjangoTranslation.gettext
    original_ngettext = trans_real.DjangoTranslation.ngettext

    def is_japanese(translation: Any) -> bool:
        return str(translation.language()).startswith("ja")

    def record(message: str) -> None:
        # A msgid of Japanese words (a language's own name, a sentence already translated and
        # looked up again by `stored_message`) reads the same untranslated.
        text = message.rpartition(trans_real.CONTEXT_SEPARATOR)[2]
        if re.search("[A-Za-z]", text) and not _JAPANESE.search(text):
            missing.add(message.replace(trans_real.CONTEXT_SEPARATOR, " | "))

    def gettext(self: Any, message: str) -> str:
        if is_japanese(self) and message not in self._catalog:
            record(message)
        return original_gettext(self, message)

    def ngettext(self: Any, singular: str, plural: str, number: int) -> str:
        if is_japanese(self):
            try:
                self._catalog.plural(singular, number)
            except KeyError:
                record(singular)
        return original_ngettext(self, singular, plural, number)

    trans_real.DjangoTranslation.gettext = gettext  # type: ignore[method-assign]
    trans_real.DjangoTranslation.ngettext = ngettext  # type: ignore[method-assign]
    try:
        yield missing
    finally:
        trans_real.DjangoTranslation.gettext = original_gettext  # type: ignore[method-assign]
        trans_real.DjangoTranslation.ngettext = original_ngettext  # type: ignore[method-assign]


class _VisibleText(HTMLParser):
    """The text a visitor reads: text nodes outside script and style, and the attributes that
    browsers show (title, placeholder, alt, aria-label, a button's value)."""

    SHOWN_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0
        # An element marked translate="no" (data in its own language: a customer's subject, an
        # English article) and what it contains, as the browser walk skips `[translate=no]`:
        # its tag and how many of that tag are open.
        self._untranslated_tag = ""
        self._untranslated_open = 0

    # Not prose: code, a technical record or a snippet to copy, and text typed into a field.
    HIDDEN = ("script", "style", "template", "code", "pre", "kbd", "samp", "textarea")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden_depth += 1
        values = dict(attrs)
        if self._untranslated_tag:
            self._untranslated_open += tag == self._untranslated_tag
            return
        if values.get("translate") == "no" and tag not in VOID_ELEMENTS:
            self._untranslated_tag, self._untranslated_open = tag, 1
            return
        for name in self.SHOWN_ATTRIBUTES:
            if values.get(name):
                self.parts.append(str(values[name]))
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1
        if self._untranslated_tag and tag == self._untranslated_tag:
            self._untranslated_open -= 1
            if not self._untranslated_open:
                self._untranslated_tag = ""

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth and not self._untranslated_tag:
            self.parts.append(data)


# Elements without an end tag: translate="no" on one of them marks nothing inside.
VOID_ELEMENTS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


# Words that are the same in the Japanese UI: brands, protocols, codes and the names of
# languages in their own language (the language switch).
ALLOWED_WORDS = frozenset(
    (
        "Madoguchi LINE Shopify EC-CUBE CSV SMTP IMAP TLS SSL STARTTLS URL ID API PDF SLA CSAT "
        "FAQ QR TOTP HTML OK PIN Web SKU EC Chrome Safari Firefox Gmail Outlook Google Microsoft "
        "Yamato Sagawa JP Post Seino ZIP Basic Bearer HTTP HTTPS JSON UTF Shift_JIS SJIS "
        "Webhook DM FAX GMO PayPay Amazon Rakuten Yahoo BASE STORES MakeShop futureshop "
        "Asia Tokyo UTC JST English SPF DKIM DMARC include Excel"
    )
    .lower()
    .split()
)

# Names of several words, and the forms of non-words: URLs, e-mail addresses, file names and
# extensions, a reply template's {{ placeholders }}, key:value and key=value tokens, and
# identifiers with digits (a LINE user id, a tracking number).
_NOT_WORDS = re.compile(
    r"Google Authenticator|Microsoft Authenticator|1Password|LINE Developers|Messaging API"
    r"|(?:https?://|wss?://|/)\S*|\S+@\S+|\S*\.(?:jp|com|example|csv|eml|txt|pdf)\b\S*"
    r"|\{\{?[^{}]*\}\}?|\b[a-z]+[:=]\S*|[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[-_][A-Za-z]+)*")


def english_words(html: str, *, allowed: set[str]) -> list[str]:
    """English-looking words of the page's visible text that are neither allowed nor data."""
    return english_words_in_text(visible_text(html), allowed=allowed)


def english_words_in_text(shown: str, *, allowed: set[str]) -> list[str]:
    """English-looking words of text as shown (a browser's) that are neither allowed nor data."""
    text = _NOT_WORDS.sub(" ", shown)
    found = []
    for word in _WORD.findall(text):
        if word.lower() in ALLOWED_WORDS or word in allowed or word.startswith("matrix"):
            continue  # (the tenancy matrix names its rows "matrix-…")
        if re.fullmatch(r"[A-Z0-9_-]+", word) and len(word) <= 6:
            continue  # a code: an order or ticket prefix, a carrier's short name
        found.append(word)
    return sorted(set(found))
