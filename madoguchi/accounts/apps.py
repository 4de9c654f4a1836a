from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "madoguchi.accounts"
    label = "accounts"

    def ready(self) -> None:
        from madoguchi.accounts import menu, sessions, signals  # noqa: F401

        menu.register()
