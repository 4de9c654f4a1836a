from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "madoguchi.connectors.chat"
    label = "chat"
    verbose_name = "Live chat"

    def ready(self) -> None:
        from madoguchi.connectors.chat.sending import reply_push
        from madoguchi.conversations.models import Channel
        from madoguchi.conversations.outbound import register_sender

        register_sender(Channel.CHAT, reply_push)
