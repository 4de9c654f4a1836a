"""URLs of the people administration pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
