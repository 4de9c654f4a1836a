from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "madoguchi.customers"
    label = "customers"
