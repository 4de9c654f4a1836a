"""Message bodies: HTML to text, and the quoted history separated from the new text for display.

`split_quoted` knows the attribution lines of Japanese clients (Gmail-JP, iPhone-JP, Outlook-JP
header blocks, 「元のメッセージ」) besides the English ones that talon handles; it only decides
what the UI collapses: the full text always stays in `body_text`.
"""

import re
from html import unescape
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})
# Beyond these the HTML is not rendered (zammad's 5,000-link rule, security.md A.9): the
# sanitizer and HTMLParser grow faster than linearly with nesting depth and size.
MAX_HTML_LENGTH = 1_000_000
MAX_HTML_DEPTH = 300
MAX_HTML_TAGS = 50_000
MAX_HTML_LINKS = 5_000
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")


def html_complexity_problem(html: str) -> str | None:
    """Return why `html` is too big or too deep to render, or None when it is fine."""
    if len(html) > MAX_HTML_LENGTH:
        return f"HTML of {len(html)} characters exceeds {MAX_HTML_LENGTH}"
    depth = 0
    links = 0
    for count, match in enumerate(_TAG.finditer(html), start=1):
        if count > MAX_HTML_TAGS:
            return f"more than {MAX_HTML_TAGS} HTML tags"
        name = match.group(2).lower()
        if match.group(1):
            depth = max(0, depth - 1)
            continue
        if name == "a":
            links += 1
            if links > MAX_HTML_LINKS:
                return f"more than {MAX_HTML_LINKS} links"
        if name in _VOID_TAGS or match.group(3):
            continue
        depth += 1
        if depth > MAX_HTML_DEPTH:
            return f"HTML nested deeper than {MAX_HTML_DEPTH} elements"
    return None


_ANY_TAG = re.compile(r"<[^>]*>")


def html_to_text_quickly(html: str) -> str:
    """Return the text of HTML too complex for `html_to_text`: tags dropped by one regex."""
    text = unescape(_ANY_TAG.sub(" ", html))
    return _MANY_BLANK_LINES.sub("\n\n", re.sub(r"[ \t]+", " ", text)).strip()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth += 1
        elif tag == "br":
            self.pieces.append("\n")
        elif tag in _BLOCK_TAGS:
            self.pieces.append("\n")
            if tag == "pre":
                self.pre_depth += 1
        elif tag in ("td", "th"):
            self.pieces.append("\t")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCK_TAGS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.pieces.append("\n")
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if not self.pre_depth:
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
        self.pieces.append(data)


_MANY_BLANK_LINES = re.compile(r"\n[ \t\u3000]*(?:\n[ \t\u3000]*){2,}")


def html_to_text(html: str) -> str:
    """Return readable plain text for an HTML body (scripts and styles dropped)."""
    if html_complexity_problem(html):
        return html_to_text_quickly(html)
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # HTMLParser is lenient; this guards against the unexpected only
        return unescape(re.sub(r"<[^>]*>", " ", html)).strip()
    lines = [line.strip(" \t") for line in "".join(extractor.pieces).split("\n")]
    text = "\n".join(lines)
    return _MANY_BLANK_LINES.sub("\n\n", text).strip("\n")


# Attribution and separator lines that start the quoted history.
_ATTRIBUTION_PATTERNS = [
    # Gmail-JP: 2025年5月30日(金) 10:15 サポート <support@example.jp>:
    re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日\s*[(（].[)）]\s*\d{1,2}:\d{2}\s*.+[:：]$"),
    # Gmail-JP (newer): 2025年5月30日(金) 10:15 サポート <support@example.jp> のメール:
    re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日.*\d{1,2}:\d{2}.*(?:のメール|wrote|書きました)[:：]?$"),
    # iPhone / Apple Mail JP: 2025/05/30 10:15、サポート <support@example.jp>のメール:
    re.compile(r"^\d{4}/\d{1,2}/\d{1,2}\s*\d{1,2}:\d{2}[、,]\s*.+のメール[:：]$"),
    # Thunderbird: 2025/05/30 10:15, Support wrote:
    re.compile(r"^\d{4}/\d{1,2}/\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?,\s*.+\s(?:wrote|written):$"),
    # Becky! / others: On Fri, 30 May 2025 ... wrote: and Japanese "…さんは書きました:"
    re.compile(r"^(?:On|Le|Am|El|Em|Op|Il)\s.+\s(?:wrote|a écrit|schrieb|escribió|escreveu)[:：]$"),
    re.compile(r"^.{0,120}(?:さんは書きました|wrote)[:：]$"),
    re.compile(r"^-{2,}\s*(?:Original Message|元のメッセージ|オリジナルメッセージ)\s*-{2,}$", re.I),
]
_OUTLOOK_FROM = re.compile(r"^\s*(?:\*\s*)?(?:差出人|送信者|From)\s*[:：]")
_OUTLOOK_FIELDS = re.compile(
    r"^\s*(?:\*\s*)?(?:送信日時|日時|日付|Sent|Date|宛先|To|CC|Cc|件名|Subject)\s*[:：]"
)
_OUTLOOK_RULE = re.compile(r"^_{10,}$")
_QUOTE_MARKER = re.compile(r"^[ \t\u3000]*[>＞|｜]")
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")


def _is_attribution(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if not line:
        return False
    if any(pattern.match(line) for pattern in _ATTRIBUTION_PATTERNS):
        return True
    # An attribution wrapped over two lines ("On ..., Name <a@b>\nwrote:").
    if index + 1 < len(lines):
        joined = f"{line} {lines[index + 1].strip()}"
        if len(joined) < 300 and any(pattern.match(joined) for pattern in _ATTRIBUTION_PATTERNS):
            return True
    if _OUTLOOK_RULE.match(line):
        # Outlook draws a rule above its header block.
        following = [number for number in range(index + 1, len(lines)) if lines[number].strip()]
        return bool(following) and _is_outlook_block(lines, following[0])
    return _is_outlook_block(lines, index)


def _is_outlook_block(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _OUTLOOK_FROM.match(line):
        following = [candidate for candidate in lines[index + 1 : index + 6] if candidate.strip()]
        matched = sum(1 for candidate in following[:4] if _OUTLOOK_FIELDS.match(candidate))
        return matched >= 2
    return False


def _quoted_block_start(lines: list[str]) -> int | None:
    """Return where the trailing block of `>` quoted lines starts (None when inline replies)."""
    start = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if not line.strip():
            continue
        if _QUOTE_MARKER.match(line):
            start = index
            continue
        break
    return start


def split_quoted(text: str) -> tuple[str, str]:
    """Split `text` into (new text, quoted history and signature) for display.

    When no split point is found, or everything would be quoted, the whole text is new.
    """
    lines = text.split("\n")
    cut = None
    for index in range(len(lines)):
        if _is_attribution(lines, index):
            cut = index
            break
    quote_start = _quoted_block_start(lines)
    if quote_start is not None and (cut is None or quote_start < cut):
        cut = quote_start
        # The attribution line just above the quote belongs to the quote.
        previous = cut - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        if previous >= 0 and lines[previous].rstrip().endswith((":", "：")):
            cut = previous
    limit = len(lines) if cut is None else cut
    for index in range(limit):
        if _SIGNATURE_DELIMITER.match(lines[index]):
            cut = index
            break
    if cut is None:
        return text, ""
    new_text = "\n".join(lines[:cut]).rstrip()
    if not new_text.strip():
        return text, ""
    quoted = "\n".join(lines[cut:]).strip("\n")
    return new_text, quoted
