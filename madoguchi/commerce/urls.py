from django.urls import path

from madoguchi.commerce import views

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
    path("hooks/commerce/<str:token>/", views.webhook, name="webhook"),
]
