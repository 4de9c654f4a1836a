from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "madoguchi.events"
    label = "events"
