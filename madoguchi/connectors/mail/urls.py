from django.urls import path

from madoguchi.connectors.mail import views

app_name = "mail"
urlpatterns = [
    path("<slug:shop_slug>/failed/", views.failed_list, name="failed"),
    path(
        "<slug:shop_slug>/failed/<int:raw_mail_id>/reprocess/",
        views.failed_reprocess,
        name="reprocess",
    ),
    path("<slug:shop_slug>/failed/<int:raw_mail_id>/raw/", views.failed_raw, name="raw"),
    path("<slug:shop_slug>/settings/", views.settings_edit, name="settings"),
]
