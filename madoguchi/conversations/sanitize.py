"""Make message HTML safe to show: the nh3 allowlist, no scripts, forms or remote images."""

import re

import nh3

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr",
    "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_REMOTE_IMAGE = re.compile(r"<img\b[^>]*\bsrc=\"(?!cid:)[^\"]*\"[^>]*>", re.IGNORECASE)


def sanitize_html(html: str, *, allow_remote_images: bool = False) -> str:
    """Return `html` reduced to the allowlist; remote images are dropped unless allowed."""
    cleaned: str = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer nofollow",
    )
    if not allow_remote_images:
        cleaned = _REMOTE_IMAGE.sub("", cleaned)
    return cleaned
