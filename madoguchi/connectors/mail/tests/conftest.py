import threading
from collections.abc import Iterator

import pytest

from madoguchi.connectors.mail import parsing


@pytest.fixture
def slow_parsing(monkeypatch, settings) -> Iterator[float]:
    """Parsing a mail with SLOW in it hangs past the time limit (0.2 s, yielded) until teardown."""
    limit = 0.2
    settings.MADOGUCHI = {**settings.MADOGUCHI, "MAIL_PROCESS_TIMEOUT": limit}
    release = threading.Event()
    real_parse = parsing.parse_mail

    def parse(raw):
        if b"SLOW" in raw:
            release.wait(30)
        return real_parse(raw)

    monkeypatch.setattr(parsing, "parse_mail", parse)
    yield limit
    release.set()
