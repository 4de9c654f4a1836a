from django.urls import path

from madoguchi.customers import views

app_name = "customers"
urlpatterns = [
    path("customers/search/", views.customer_picker, name="picker"),
    path("shops/<slug:shop_slug>/customers/<int:pk>/", views.customer_detail, name="detail"),
    path(
        "shops/<slug:shop_slug>/customers/<int:pk>/reveal/",
        views.customer_reveal,
        name="reveal",
    ),
    path(
        "shops/<slug:shop_slug>/customers/<int:pk>/memo/",
        views.customer_note_edit,
        name="note_edit",
    ),
]
