from django.urls import path

from madoguchi.connectors.phone import views

app_name = "phone"
urlpatterns = [
    path("<slug:shop_slug>/calls/new/", views.call_new, name="call_new"),
    path("<slug:shop_slug>/lookup/", views.lookup, name="lookup"),
    path("<slug:shop_slug>/callbacks/", views.callbacks, name="callbacks"),
    path("<slug:shop_slug>/numbers/", views.numbers, name="numbers"),
    path(
        "<slug:shop_slug>/numbers/<int:phone_number_id>/",
        views.number_edit,
        name="number_edit",
    ),
    path(
        "<slug:shop_slug>/numbers/<int:phone_number_id>/delete/",
        views.number_delete,
        name="number_delete",
    ),
    path(
        "<slug:shop_slug>/callbacks/<int:call_id>/done/",
        views.callback_done,
        name="callback_done",
    ),
]
