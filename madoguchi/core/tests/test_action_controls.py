"""Every action control looks like a button: the templates give each one the button class, and
the shared stylesheet never draws a button class as plain text (issue #13: テンプレートを使う,
お知らせを送る, ステータスを変更 and これらの注文に充当 read as text)."""

import re
from pathlib import Path

import pytest

import madoguchi

PACKAGE = Path(madoguchi.__file__).parent
STYLESHEET = PACKAGE / "core" / "static" / "madoguchi" / "app.css"
# Controls drawn by their own component rather than as a button (the language segmented switch).
OWN_COMPONENT_CLASSES = {"language-switch__option"}

_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_BUTTON_TAG = re.compile(r"<button\b[^>]*>|<input\b[^>]*type=\"?(?:submit|button)\b[^>]*>", re.I)
_CLASS = re.compile(r"""class="([^"]*)\"""")
_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def _rules() -> list[tuple[str, str]]:
    return _RULE.findall(_COMMENT.sub("", STYLESHEET.read_text()))


def _declarations(selector: str) -> dict[str, str]:
    """Merge, in stylesheet order, the declarations of the rules naming exactly `selector`."""
    merged: dict[str, str] = {}
    for selectors, body in _rules():
        names = {name.strip() for name in selectors.split(",")}
        if selector not in names:
            continue
        for declaration in body.split(";"):
            if ":" in declaration:
                prop, value = declaration.split(":", 1)
                merged[prop.strip()] = value.strip()
    return merged


def _templates() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("templates/**/*.html"))


def test_every_button_and_submit_in_the_templates_carries_the_button_class() -> None:
    unstyled = []
    for path in _templates():
        for tag in _BUTTON_TAG.findall(path.read_text()):
            match = _CLASS.search(tag)
            classes = set(re.sub(r"{%.*?%}", " ", match.group(1)).split()) if match else set()
            if "button" not in classes and not classes & OWN_COMPONENT_CLASSES:
                unstyled.append(f"{path.relative_to(PACKAGE)}: {tag}")
    assert unstyled == []


@pytest.mark.parametrize("modifier", [".button--quiet", ".button--primary"])
def test_button_modifiers_keep_a_visible_frame(modifier: str) -> None:
    base = _declarations(".button")
    assert base["border"] == "1px solid var(--border-strong)"
    modifier_declarations = _declarations(modifier)
    border_color = modifier_declarations.get("border-color", "var(--border-strong)")
    assert border_color not in {"transparent", "none"}
    assert "border" not in modifier_declarations  # no `border: 0` reset either
    assert modifier_declarations.get("background") not in {"transparent", "none"}


def test_the_quiet_button_is_a_framed_secondary_action() -> None:
    assert _declarations(".button--quiet") == {
        "background": "#f7f8fa",
        "border-color": "var(--border-strong)",
        "color": "var(--text)",
    }


def test_no_rule_resets_buttons_or_summaries_to_plain_text() -> None:
    for selectors, body in _rules():
        for name in (name.strip() for name in selectors.split(",")):
            if name in {"button", "summary", "input[type=submit]"}:
                assert "all: unset" not in body and "border: 0" not in body, name
