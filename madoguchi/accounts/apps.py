from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "madoguchi.accounts"
    label = "accounts"

    def ready(self) -> None:
        from madoguchi.accounts import signals  # noqa: F401
