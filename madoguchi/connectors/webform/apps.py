from django.apps import AppConfig


class WebformConfig(AppConfig):
    name = "madoguchi.connectors.webform"
    label = "webform"
    verbose_name = "Web form"

    def ready(self) -> None:
        from madoguchi.connectors.webform.sending import reply_queue
        from madoguchi.conversations.models import Channel
        from madoguchi.conversations.outbound import register_sender

        register_sender(Channel.WEB_FORM, reply_queue)
