"""Time `parse_mail` against the parse-only floor on the same mails.

The floor is what any Python mail tool pays at least: `email.message_from_bytes(raw,
policy=default)` plus extracting the body (`get_body()` + `get_content()`). Ours adds Japanese
charset handling, strict addresses, attachment hashing and sniffing, HTML sanitizing and the
auto-reply/bounce checks. Two sets: 2,000 generated mails (half ISO-2022-JP, half UTF-8, a fifth
replies, some with HTML and attachments) and the shared real-mail corpus. No database needed.
"""

from __future__ import annotations

import base64
import os
import random
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENERATED_COUNT = 2_000
ROUNDS = 3

SUBJECTS = ["ご注文について", "配送日時の変更①", "返品のお願い", "㈱山田商店 請求書", "髙橋です"]
ATTRIBUTION = "2025年5月30日(金) 10:15 サポート <support@tea.example.jp>:"
INVOICE = "%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf"  # 請求書.pdf
LINES = [
    "いつもお世話になっております。",
    "注文番号 #{number} の件でご連絡しました。",
    "配送日を10時～12時に変更できますか。",
    "よろしくお願いいたします。",
    "ギフト包装は可能でしょうか。",
]


def _encoded_word(text: str, charset: str) -> str:
    if charset == "iso-2022-jp":
        data = text.encode("cp932")  # the JIS bytes are written through CP932 for ①㈱髙
        data = _cp932_to_jis(data)
    else:
        data = text.encode()
    return f"=?{charset.upper()}?B?{base64.b64encode(data).decode()}?="


def _cp932_to_jis(data: bytes) -> bytes:
    """Return CP932 bytes as an ISO-2022-JP stream (what Windows' CP50221 writes)."""
    output = bytearray()
    is_double = False
    position = 0
    while position < len(data):
        lead = data[position]
        if lead < 0x80:
            if is_double:
                output += b"\x1b(B"
                is_double = False
            output.append(lead)
            position += 1
            continue
        trail = data[position + 1]
        position += 2
        if not is_double:
            output += b"\x1b$B"
            is_double = True
        row = (lead - 0x81 if lead <= 0x9F else lead - 0xC1) * 2 + 0x21
        if trail >= 0x9F:
            output += bytes((row + 1, trail - 0x7E))
        else:
            output += bytes((row, trail - 0x1F - (1 if trail >= 0x80 else 0)))
    if is_double:
        output += b"\x1b(B"
    return bytes(output)


def generate_mails(count: int = GENERATED_COUNT, *, seed: int = 3) -> list[bytes]:
    """Return `count` raw mails: half ISO-2022-JP, half UTF-8, every fifth a reply."""
    generator = random.Random(seed)
    mails = []
    for index in range(count):
        charset = "iso-2022-jp" if index % 2 == 0 else "utf-8"
        subject = generator.choice(SUBJECTS)
        if index % 5 == 4:
            subject = f"Re: {subject} [#TEA-{1000 + index // 5}]"
        lines = [line.format(number=10_000 + index) for line in generator.sample(LINES, 4)]
        text = "\r\n".join(lines) + "\r\n"
        if index % 5 == 4:
            text += f"\r\n{ATTRIBUTION}\r\n> 承知しました。\r\n"
        body = _cp932_to_jis(text.encode("cp932")) if charset == "iso-2022-jp" else text.encode()
        headers = [
            f"From: {_encoded_word('山田 太郎', charset)} <customer{index % 300}@example.jp>",
            "To: support@tea.example.jp",
            f"Subject: {_encoded_word(subject, charset)}",
            f"Date: Fri, 30 May 2025 10:{index % 60:02d}:00 +0900",
            f"Message-ID: <m{index}.{seed}@example.jp>",
            "MIME-Version: 1.0",
        ]
        if index % 5 == 4:
            headers.append(f"In-Reply-To: <reply{index - 1}@tea.example.jp>")
            headers.append(
                f"References: <root{index}@tea.example.jp> <reply{index - 1}@tea.example.jp>"
            )
        transfer = "7bit" if charset == "iso-2022-jp" else "8bit"
        part = (
            f"Content-Type: text/plain; charset={charset}\r\n"
            f"Content-Transfer-Encoding: {transfer}\r\n\r\n"
        ).encode() + body
        if index % 10 == 1:
            html = f'<p>{"<br>".join(lines)}</p><img src="https://t.example/p.gif">'.encode()
            pdf = b"%PDF-1.4\n" + bytes(generator.randrange(256) for _ in range(3000))
            raw = b"".join(
                [
                    "\r\n".join(headers).encode(),
                    f"\r\nContent-Type: multipart/mixed; boundary=m{index}\r\n\r\n".encode(),
                    f"--m{index}\r\nContent-Type: multipart/alternative;".encode(),
                    f" boundary=a{index}\r\n\r\n--a{index}\r\n".encode(),
                    part,
                    f"\r\n--a{index}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n".encode(),
                    html,
                    f"\r\n--a{index}--\r\n--m{index}\r\nContent-Type: application/pdf\r\n".encode(),
                    f"Content-Disposition: attachment; filename*=UTF-8''{INVOICE}\r\n".encode(),
                    b"Content-Transfer-Encoding: base64\r\n\r\n",
                    base64.encodebytes(pdf),
                    f"\r\n--m{index}--\r\n".encode(),
                ]
            )
        else:
            raw = "\r\n".join(headers).encode() + b"\r\n" + part
        mails.append(raw)
    return mails


def corpus_mails() -> list[bytes]:
    configured = Path(os.environ.get("MADOGUCHI_CORPORA", "../shared/corpora"))
    directory = configured if configured.is_absolute() else (ROOT / configured).resolve()
    return [path.read_bytes() for path in sorted((directory / "mail").rglob("*.eml"))]


def parse_floor(raw: bytes) -> str:
    """The floor: the stdlib parse and the preferred body, nothing else."""
    message = message_from_bytes(raw, policy=policy.default)
    try:
        body = message.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
        return str(body.get_content()) if body is not None else ""
    except (KeyError, LookupError, ValueError, AttributeError):
        return ""


def _rate(function: Callable[[bytes], Any], mails: list[bytes]) -> float:
    """Return the best messages/second over ROUNDS passes."""
    best = float("inf")
    for _round in range(ROUNDS):
        started = time.perf_counter()
        for raw in mails:
            function(raw)
        best = min(best, time.perf_counter() - started)
    return len(mails) / best


def run(scale: str) -> list[dict[str, Any]]:
    """Return one result per mail set: ours and the floor in messages/second, and the ratio."""
    from madoguchi.connectors.mail.parsing import parse_mail

    results = []
    for name, mails in (("generated", generate_mails()), ("corpus", corpus_mails())):
        floor = _rate(parse_floor, mails)
        ours = _rate(parse_mail, mails)
        results.append(
            {
                "benchmark": "mail_parse",
                "set": name,
                "scale": scale,
                "n": len(mails),
                "messages_per_second": round(ours, 1),
                "floor_messages_per_second": round(floor, 1),
                "ratio_to_floor": round(ours / floor, 3),
            }
        )
    return results


if __name__ == "__main__":
    import json

    for result in run("quick"):
        print(json.dumps(result))
