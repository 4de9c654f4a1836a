from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "madoguchi.conversations"
    label = "conversations"
