from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    """The pages that set up a workspace and its shops: shops, people, channels, security."""

    name = "madoguchi.administration"
    label = "administration"

    def ready(self) -> None:
        from madoguchi.administration import menu

        menu.register()
