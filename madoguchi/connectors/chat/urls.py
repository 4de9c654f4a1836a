from django.urls import path

from madoguchi.connectors.chat import views

app_name = "chat"
urlpatterns = [
    path("w/<str:public_key>/config/", views.widget_config, name="widget_config"),
    path("w/<str:public_key>/conversations/", views.conversation_open, name="conversation_open"),
    path("<slug:shop_slug>/settings/", views.settings_edit, name="settings"),
]
