"""Build raw test mails and the mail setup of the two-shop world (tea, ceramics)."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

from django_scopes import scopes_disabled

from madoguchi.connectors.mail.models import MailAddress

TEA_ADDRESS = "support@tea.example.jp"
CERAMICS_ADDRESS = "info@ceramics.example.jp"


def mail_setup(world) -> None:
    """Give both shops a verified inbound/sender address."""
    with scopes_disabled():
        MailAddress.objects.create(
            shop=world.tea,
            address=TEA_ADDRESS,
            display_name="山田園 サポート",
            is_verified=True,
            is_default_sender=True,
        )
        MailAddress.objects.create(
            shop=world.ceramics,
            address=CERAMICS_ADDRESS,
            display_name="青木陶房",
            is_verified=True,
            is_default_sender=True,
        )


def make_mail(
    *,
    sender: str = "hanako@example.com",
    sender_name: str = "佐藤 花子",
    to: str = TEA_ADDRESS,
    subject: str = "注文した商品について",
    body: str = "注文番号 1001 の商品がまだ届きません。",
    message_id: str | None = "first@mail.example.com",
    in_reply_to: str | None = None,
    references: str | None = None,
    charset: str = "utf-8",
    headers: dict[str, str] | None = None,
) -> bytes:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = f"{sender_name} <{sender}>" if sender_name else sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = "Thu, 20 Nov 2025 10:15:00 +0900"
    if message_id is not None:
        mail["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        mail["References"] = references
    for name, value in (headers or {}).items():
        mail[name] = value
    if charset == "iso-2022-jp":
        mail.set_content(body.encode("iso-2022-jp"), "text", "plain", cte="7bit")
        mail.set_param("charset", "iso-2022-jp")
    else:
        mail.set_content(body, charset=charset)
    return mail.as_bytes()


def mail_with_files(
    *files: tuple[str, bytes], message_id: str = "files@mail.example.com", to: str = TEA_ADDRESS
) -> bytes:
    """A customer's mail to the tea shop with these (name, bytes) attachments."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = "佐藤 花子 <hanako@example.com>"
    mail["To"] = to
    mail["Subject"] = "書類を送ります"
    mail["Message-ID"] = f"<{message_id}>"
    mail.set_content("添付をご確認ください。")
    for name, data in files:
        mail.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return mail.as_bytes()


def make_dsn(*, original_message_id: str, recipient: str, status: str) -> bytes:
    """A Postfix-style RFC 3464 delivery status notification."""
    action = "failed" if status.startswith("5") else "delayed"
    return (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        f"To: {TEA_ADDRESS}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        f"Message-ID: <dsn-{status}-{recipient}@mx.example.com>\r\n"
        "Date: Thu, 20 Nov 2025 11:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"\r\n'
        "\r\n"
        "--BOUND\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "\r\n"
        "--BOUND\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n"
        "--BOUND\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"From: {TEA_ADDRESS}\r\n"
        f"To: {recipient}\r\n"
        "Subject: Re: question\r\n"
        f"Message-ID: <{original_message_id}>\r\n"
        "\r\n"
        "--BOUND--\r\n"
    ).encode()
