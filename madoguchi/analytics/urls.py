from django.urls import path

from madoguchi.analytics import export_views, handle_views, views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tickets/", views.tickets, name="tickets"),
    path("export/tickets.csv", export_views.export_tickets, name="export_tickets"),
    path("export/metrics.csv", export_views.export_metrics, name="export_metrics"),
    path("charts/<slug:name>.svg", views.chart, name="chart"),
    path("shops/<slug:shop_slug>/", views.shop_dashboard, name="shop_dashboard"),
    path("shops/<slug:shop_slug>/settings/", views.settings_page, name="settings"),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/worked/",
        handle_views.ticket_worked,
        name="ticket_worked",
    ),
]
