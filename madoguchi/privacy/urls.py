from django.urls import path

from madoguchi.privacy import shop_deletion_views, views

app_name = "privacy"
urlpatterns = [
    path("shops/<slug:shop_slug>/privacy/retention/", views.retention, name="retention"),
    path(
        "shops/<slug:shop_slug>/customers/<int:pk>/privacy/export.json",
        views.customer_export_json,
        name="export_json",
    ),
    path(
        "shops/<slug:shop_slug>/customers/<int:pk>/privacy/export/",
        views.customer_export_page,
        name="export_page",
    ),
    path(
        "shops/<slug:shop_slug>/customers/<int:pk>/privacy/erase/",
        views.customer_erase_view,
        name="erase",
    ),
    path(
        "shops/<slug:shop_slug>/privacy/erasures/<int:erasure_id>/",
        views.erasure_detail,
        name="erasure",
    ),
    path(
        "shops/<slug:shop_slug>/privacy/erasures/<int:erasure_id>/verify/",
        views.erasure_verify_view,
        name="erasure_verify",
    ),
    path(
        "shops/<slug:shop_slug>/privacy/delete-shop/",
        shop_deletion_views.shop_delete_view,
        name="shop_delete",
    ),
]
