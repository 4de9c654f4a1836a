from django.urls import path

from madoguchi.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tickets/", views.tickets, name="tickets"),
    path("charts/<slug:name>.svg", views.chart, name="chart"),
    path("shops/<slug:shop_slug>/", views.shop_dashboard, name="shop_dashboard"),
    path("shops/<slug:shop_slug>/settings/", views.settings_page, name="settings"),
]
