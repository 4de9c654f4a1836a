from django.urls import path

from madoguchi.connectors.line import views

app_name = "line"
urlpatterns = [
    path("webhook/<str:public_id>/", views.webhook, name="webhook"),
    path("<slug:shop_slug>/deliveries/", views.deliveries, name="deliveries"),
    path("<slug:shop_slug>/channels/", views.channels, name="channels"),
    path(
        "<slug:shop_slug>/channels/<int:channel_id>/edit/",
        views.channel_edit,
        name="channel_edit",
    ),
    path("<slug:shop_slug>/channels/<int:channel_id>/quota/", views.quota, name="quota"),
    path(
        "<slug:shop_slug>/customers/<int:pk>/merge/",
        views.customer_merge_view,
        name="customer_merge",
    ),
]
