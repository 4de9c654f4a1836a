from django.urls import path

from madoguchi.reports import views

app_name = "reports"
urlpatterns = [
    path("shops/<slug:shop_slug>/", views.shop_reports, name="shop_reports"),
    path("shops/<slug:shop_slug>/generate/", views.generate, name="generate"),
    path("shops/<slug:shop_slug>/settings/", views.settings_page, name="settings"),
    path("shops/<slug:shop_slug>/points/", views.point_add, name="point_add"),
    path("shops/<slug:shop_slug>/points/accept/", views.point_accept, name="point_accept"),
    path(
        "shops/<slug:shop_slug>/points/<int:point_id>/delete/",
        views.point_delete,
        name="point_delete",
    ),
    path("shops/<slug:shop_slug>/<int:report_id>/", views.report_page, name="report"),
    path("shops/<slug:shop_slug>/<int:report_id>/pdf/", views.report_pdf, name="pdf"),
    path(
        "shops/<slug:shop_slug>/<int:report_id>/charts/<slug:name>.svg", views.chart, name="chart"
    ),
    path("shops/<slug:shop_slug>/<int:report_id>/send/", views.send, name="send"),
]
