from django.urls import path

from madoguchi.commerce import connection_views, views

app_name = "commerce"
urlpatterns = [
    path("commerce/<slug:shop_slug>/orders/", views.order_list, name="order_list"),
    path("commerce/<slug:shop_slug>/orders/new/", views.order_new, name="order_new"),
    path("commerce/<slug:shop_slug>/orders/import/", views.order_import, name="order_import"),
    path(
        "commerce/<slug:shop_slug>/orders/import/<int:import_id>/",
        views.order_import_detail,
        name="order_import_detail",
    ),
    path("commerce/<slug:shop_slug>/orders/reminders/", views.reminder_list, name="reminders"),
    path("commerce/<slug:shop_slug>/orders/<str:number>/", views.order_detail, name="order"),
    path("commerce/<slug:shop_slug>/deposits/import/", views.deposit_import, name="deposit_import"),
    path("commerce/<slug:shop_slug>/deposits/review/", views.review_queue, name="review_queue"),
    path(
        "commerce/<slug:shop_slug>/deposits/<int:deposit_id>/decide/",
        views.deposit_decide,
        name="deposit_decide",
    ),
    path(
        "commerce/<slug:shop_slug>/connections/",
        connection_views.connection_list,
        name="connections",
    ),
    path(
        "commerce/<slug:shop_slug>/connections/<int:connection_id>/",
        connection_views.connection_detail,
        name="connection",
    ),
    path(
        "commerce/<slug:shop_slug>/connections/<int:connection_id>/rotate/",
        connection_views.connection_rotate,
        name="connection_rotate",
    ),
    path(
        "commerce/<slug:shop_slug>/connections/<int:connection_id>/delete/",
        connection_views.connection_delete,
        name="connection_delete",
    ),
    path("hooks/commerce/<str:token>/", views.webhook, name="webhook"),
]
