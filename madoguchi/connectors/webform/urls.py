from django.urls import path

from madoguchi.connectors.webform import views

app_name = "webform"
urlpatterns = [
    path("f/<str:public_key>/", views.public_form, name="public"),
    path("webform/<slug:shop_slug>/settings/", views.settings_edit, name="settings"),
]
