from django.urls import path

from madoguchi.csat import views

app_name = "csat"
urlpatterns = [
    path("shops/<slug:shop_slug>/settings/", views.settings_page, name="settings"),
    path(
        "shops/<slug:shop_slug>/customers/<int:customer_id>/opt-out/",
        views.opt_out,
        name="opt_out",
    ),
    path("<str:token>/", views.survey, name="survey"),
]
