"""HTML to PDF for documents (invoices, monthly reports), with Japanese fonts.

WeasyPrint lays the HTML out with pango and embeds the fonts it used, so a PDF reads the same
on any machine. The Japanese faces come from Debian's `fonts-noto-cjk` (Noto Sans/Serif CJK JP);
without them Japanese would be boxes. Templates include `JAPANESE_FONT_CSS` (or the `{{ pdf_css }}`
of `render_pdf`) and keep their own layout CSS; nothing is fetched, from a file or the network:
a document's images are `data:` URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

JAPANESE_FONT_CSS = """
@page { size: A4; margin: 18mm 16mm; }
html { font-family: "Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", sans-serif;
       font-size: 10pt; line-height: 1.5; color: #111; }
.serif { font-family: "Noto Serif CJK JP", "Noto Serif JP", serif; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 2mm 2mm; vertical-align: top; }
.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
"""


def html_to_pdf(html: str) -> bytes:
    """Return the PDF of `html`, fetching nothing but `data:` URLs.

    Shop and customer text lands in documents: an `<img src="file:///etc/passwd">`, a
    `<link href="http://169.254.169.254/">` or a CSS `@import url(...)` in it must load nothing
    (security checklist 51), so a document is self-contained and rendering never reaches a file
    or the network.
    """
    from weasyprint import HTML  # type: ignore[import-untyped]
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    document = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=["data"]))
    pdf: bytes = document.write_pdf()
    return pdf


def pdf_css() -> SafeString:
    return mark_safe(JAPANESE_FONT_CSS)  # noqa: S308 - a constant of this module


def render_pdf(template_name: str, context: Mapping[str, Any]) -> bytes:
    """Render a Django template to PDF; the template gets `pdf_css` for its <style>."""
    html = render_to_string(template_name, {**context, "pdf_css": pdf_css()})
    return html_to_pdf(html)
