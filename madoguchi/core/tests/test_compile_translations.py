"""compile_translations: .po to .mo without GNU gettext."""

import gettext
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

PO = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: ja\\n"

msgid "Inbox"
msgstr "受信箱"

msgctxt "ticket status"
msgid "Open"
msgstr "対応中"
"""


def test_compiles_every_catalog_to_a_readable_mo(tmp_path: Path) -> None:
    po_path = tmp_path / "ja" / "LC_MESSAGES" / "django.po"
    po_path.parent.mkdir(parents=True)
    po_path.write_text(PO, encoding="utf-8")

    with override_settings(LOCALE_PATHS=[tmp_path]):
        call_command("compile_translations", verbosity=0)

    with (po_path.parent / "django.mo").open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    assert catalog.gettext("Inbox") == "受信箱"
    assert catalog.pgettext("ticket status", "Open") == "対応中"


def test_skips_an_up_to_date_catalog_and_recompiles_a_changed_one(tmp_path: Path) -> None:
    po_path = tmp_path / "ja" / "LC_MESSAGES" / "django.po"
    po_path.parent.mkdir(parents=True)
    po_path.write_text(PO, encoding="utf-8")
    mo_path = po_path.with_suffix(".mo")

    with override_settings(LOCALE_PATHS=[tmp_path]):
        call_command("compile_translations", verbosity=0)
        os.utime(mo_path, (2_000_000_000, 2_000_000_000))
        os.utime(po_path, (1_000_000_000, 1_000_000_000))
        call_command("compile_translations", verbosity=0)
        assert mo_path.stat().st_mtime == 2_000_000_000

        po_path.write_text(PO.replace("受信箱", "インボックス"), encoding="utf-8")
        os.utime(po_path, (2_000_000_100, 2_000_000_100))
        call_command("compile_translations", verbosity=0)

    with mo_path.open("rb") as handle:
        assert gettext.GNUTranslations(handle).gettext("Inbox") == "インボックス"


def test_a_broken_catalog_fails_the_command(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    po_path = tmp_path / "ja" / "LC_MESSAGES" / "django.po"
    po_path.parent.mkdir(parents=True)
    po_path.write_text('msgid "a"\nmsgstr "b"\nthis is not a catalog\n', encoding="utf-8")

    with override_settings(LOCALE_PATHS=[tmp_path]), pytest.raises(CommandError) as error:
        call_command("compile_translations", verbosity=0)

    assert str(error.value) == f"{po_path}: Syntax error in po file {po_path} (line 3)"
    assert not po_path.with_suffix(".mo").exists()
