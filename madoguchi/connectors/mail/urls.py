from django.urls import path

from madoguchi.connectors.mail import setup_views, views

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
    path("<slug:shop_slug>/outbox/", views.outbox, name="outbox"),
    path("<slug:shop_slug>/outbox/<int:outbound_id>/", views.outbound_detail, name="outbound"),
    path(
        "<slug:shop_slug>/outbox/<int:outbound_id>/retry/",
        views.outbound_retry,
        name="outbound_retry",
    ),
    path("<slug:shop_slug>/addresses/", setup_views.address_list, name="addresses"),
    path(
        "<slug:shop_slug>/addresses/<int:address_id>/",
        setup_views.address_edit,
        name="address_edit",
    ),
    path(
        "<slug:shop_slug>/addresses/<int:address_id>/delete/",
        setup_views.address_delete,
        name="address_delete",
    ),
    path("<slug:shop_slug>/mailboxes/", setup_views.mailbox_list, name="mailboxes"),
    path(
        "<slug:shop_slug>/mailboxes/<int:mailbox_id>/",
        setup_views.mailbox_edit,
        name="mailbox_edit",
    ),
    path(
        "<slug:shop_slug>/mailboxes/<int:mailbox_id>/test/",
        setup_views.mailbox_test,
        name="mailbox_test",
    ),
    path(
        "<slug:shop_slug>/mailboxes/<int:mailbox_id>/delete/",
        setup_views.mailbox_delete,
        name="mailbox_delete",
    ),
    path("<slug:shop_slug>/smtp/", setup_views.smtp_server_list, name="smtp_servers"),
    path(
        "<slug:shop_slug>/smtp/<int:server_id>/",
        setup_views.smtp_server_edit,
        name="smtp_server_edit",
    ),
    path(
        "<slug:shop_slug>/smtp/<int:server_id>/test/",
        setup_views.smtp_server_test,
        name="smtp_server_test",
    ),
    path(
        "<slug:shop_slug>/smtp/<int:server_id>/delete/",
        setup_views.smtp_server_delete,
        name="smtp_server_delete",
    ),
]
