from django.urls import path

from madoguchi.connectors.phone import views

app_name = "phone"
urlpatterns = [
    path("<slug:shop_slug>/calls/new/", views.call_new, name="call_new"),
    path("<slug:shop_slug>/lookup/", views.lookup, name="lookup"),
    path("<slug:shop_slug>/callbacks/", views.callbacks, name="callbacks"),
    path(
        "<slug:shop_slug>/callbacks/<int:call_id>/done/",
        views.callback_done,
        name="callback_done",
    ),
]
