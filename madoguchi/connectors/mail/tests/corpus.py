"""Where the shared real-mail corpus lives: `MADOGUCHI_CORPORA`, relative to the repository root."""

import os
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[4]


def corpora_dir() -> Path:
    """Return the corpora directory (default `../shared/corpora` from the repository root)."""
    configured = Path(os.environ.get("MADOGUCHI_CORPORA", "../shared/corpora"))
    return configured if configured.is_absolute() else (REPOSITORY_ROOT / configured).resolve()


MAIL_DIR = corpora_dir() / "mail"


def mail_files() -> list[Path]:
    """Return every .eml file of the mail corpus, sorted."""
    return sorted(MAIL_DIR.rglob("*.eml"))


def read_mail(relative: str) -> bytes:
    return (MAIL_DIR / relative).read_bytes()
