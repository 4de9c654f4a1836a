"""URLs of the channel administration pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
