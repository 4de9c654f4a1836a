import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from madoguchi.connectors.mail.tests.corpus import MAIL_DIR, REPOSITORY_ROOT
from madoguchi.connectors.mail.tests.test_parsing import CONTRACT_KEYS

FILES = [MAIL_DIR / "jpmobile/iphone-circled-numbers-in-jis.eml", MAIL_DIR / "stalwart/rfc/000.eml"]


def test_mail_parse_prints_one_json_object_per_file():
    output = StringIO()
    call_command("mail", "parse", *map(str, FILES), stdout=output)
    lines = output.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert list(first) == CONTRACT_KEYS and list(second) == CONTRACT_KEYS
    assert first["subject"] == "テスト①"
    assert "テスト①" in lines[0]  # ensure_ascii=False
    assert second["subject"] == "A multipart example"
    assert [a["content_type"] for a in second["attachments"]] == [
        "audio/basic",
        "image/jpeg",
        "text/enriched",
        "message/rfc822",
    ]


def test_missing_file_gets_a_line_and_fails(tmp_path):
    output = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("mail", "parse", str(tmp_path / "nope.eml"), str(FILES[0]), stdout=output)
    assert raised.value.returncode == 1
    first, second = (json.loads(line) for line in output.getvalue().splitlines())
    assert first["defects"] == [
        {"kind": "missing_file", "detail": f"{tmp_path}/nope.eml: no such file"}
    ]
    assert second["subject"] == "テスト①"


def test_unreadable_file_gets_a_defect_and_succeeds(tmp_path):
    output = StringIO()
    call_command("mail", "parse", str(tmp_path), stdout=output)
    [line] = output.getvalue().splitlines()
    assert json.loads(line)["defects"] == [
        {"kind": "unreadable_file", "detail": f"{tmp_path}: Is a directory"}
    ]


def test_console_script_exit_status(tmp_path):
    command = [sys.executable, "-m", "madoguchi", "mail", "parse"]
    ok = subprocess.run(
        [*command, str(FILES[0])], capture_output=True, cwd=REPOSITORY_ROOT, check=False
    )
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["subject"] == "テスト①"
    missing = subprocess.run(
        [*command, str(tmp_path / "nope.eml")],
        capture_output=True,
        cwd=REPOSITORY_ROOT,
        check=False,
    )
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["defects"][0]["kind"] == "missing_file"
