from django.urls import path

from madoguchi.conversations import views

app_name = "conversations"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("inbox/counts/", views.inbox_view_counts, name="inbox_counts"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("shops/<slug:shop_slug>/tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/attachments/<int:attachment_id>/",
        views.ticket_attachment,
        name="ticket_attachment",
    ),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/attachments/<int:attachment_id>/release/",
        views.ticket_attachment_release,
        name="ticket_attachment_release",
    ),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/reply/",
        views.ticket_reply,
        name="ticket_reply",
    ),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/deliveries/<int:message_id>/",
        views.ticket_delivery,
        name="ticket_delivery",
    ),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/note/",
        views.ticket_note,
        name="ticket_note",
    ),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/properties/",
        views.ticket_properties,
        name="ticket_properties",
    ),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/merge/",
        views.ticket_merge_view,
        name="ticket_merge",
    ),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/split/",
        views.ticket_split_view,
        name="ticket_split",
    ),
]
