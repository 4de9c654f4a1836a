"""URLs of the shop administration pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
