from django.apps import AppConfig


class PhoneConfig(AppConfig):
    name = "madoguchi.connectors.phone"
    label = "phone"
    verbose_name = "Phone"
