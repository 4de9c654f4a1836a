"""core.pdf: Japanese text survives into the PDF (its text layer) and renders as ink."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pypdfium2

from madoguchi.core.pdf import JAPANESE_FONT_CSS, html_to_pdf


def _pages(pdf: bytes) -> pypdfium2.PdfDocument:
    return pypdfium2.PdfDocument(pdf)


def test_japanese_html_becomes_a_pdf_with_the_japanese_text_and_ink() -> None:
    html = (
        f"<html><head><style>{JAPANESE_FONT_CSS}</style></head>"
        "<body><h1>請求書</h1><p>株式会社窓口サポート 御中 ¥110,000</p></body></html>"
    )
    pdf = html_to_pdf(html)
    assert pdf.startswith(b"%PDF-")
    document = _pages(pdf)
    assert len(document) == 1
    text = document[0].get_textpage().get_text_range()
    assert "請求書" in text
    assert "株式会社窓口サポート 御中 ¥110,000" in text
    image = document[0].render(scale=1).to_pil().convert("L")
    darkest, lightest = image.getextrema()
    assert lightest == 255 and darkest < 80  # white paper with dark glyphs on it


def test_hostile_urls_in_shop_text_fetch_nothing(tmp_path: Path) -> None:
    """Security checklist 51: the renderer loads nothing outside the document."""
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { background: black; }")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    black = tmp_path / "black.css"
    black.write_text("body { background: black; }")
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        pdf = html_to_pdf(
            "<html><head>"
            f'<link rel="stylesheet" href="{url}/link.css">'
            f'<link rel="stylesheet" href="file://{black}">'
            f'<style>@import url("{url}/import.css"); @import url("file://{black}");</style>'
            "</head><body>"
            f'<img src="{url}/img.png"><img src="file:///etc/passwd">'
            f'<iframe src="{url}/frame"></iframe><object data="{url}/object"></object>'
            "<p>表</p></body></html>"
        )
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
    page = _pages(pdf)[0]
    assert "表" in page.get_textpage().get_text_range()
    # The black stylesheet on disk was not applied either: the paper stays white.
    image = page.render(scale=1).to_pil().convert("L")
    assert image.getextrema()[1] == 255
    assert image.getpixel((5, 5)) == 255


def _render(text: str) -> bytes:
    html = f"<html><head><style>{JAPANESE_FONT_CSS}</style></head><body><p>{text}</p></body></html>"
    image = _pages(html_to_pdf(html))[0].render(scale=1).to_pil().convert("L")
    return bytes(image.tobytes())


def test_kanji_render_as_their_own_glyphs_not_boxes() -> None:
    # Without a Japanese font every kanji is the same "missing glyph" box, so two different
    # kanji would render the same pixels.
    assert _render("請請請") != _render("求求求")
