from django.urls import URLPattern

app_name = "webform"
urlpatterns: list[URLPattern] = []
