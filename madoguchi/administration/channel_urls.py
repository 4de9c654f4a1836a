"""URLs of the channel administration pages."""

from django.urls import URLPattern, path

from madoguchi.administration import channel_views

urlpatterns: list[URLPattern] = [
    path("shops/<slug:shop_slug>/channels/", channel_views.channels, name="channels"),
]
