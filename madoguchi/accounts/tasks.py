"""Background work of the accounts app."""

from madoguchi.accounts.services import password_reset_mail_send
from madoguchi.core.tasks import task


@task()
def send_password_reset_mail(user_id: int, base_url: str) -> bool:
    """Mail a password-reset link to the user (a rerun sends another working link)."""
    return password_reset_mail_send(user_id=user_id, base_url=base_url)
