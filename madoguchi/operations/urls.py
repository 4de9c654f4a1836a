from django.urls import path

from madoguchi.operations import alert_views, report_views, schedule_views, settings_views, views

app_name = "operations"
urlpatterns = [
    path("shops/<slug:shop_slug>/templates/", views.template_list, name="templates"),
    path(
        "shops/<slug:shop_slug>/templates/<int:template_id>/",
        views.template_edit,
        name="template_edit",
    ),
    path(
        "shops/<slug:shop_slug>/tickets/<int:number>/template/",
        views.template_fill,
        name="template_fill",
    ),
    path("shops/<slug:shop_slug>/after-hours/", views.after_hours, name="after_hours"),
    path("shops/<slug:shop_slug>/approvals/", views.approvals, name="approvals"),
    path(
        "shops/<slug:shop_slug>/approvals/<int:draft_id>/",
        views.draft_review,
        name="draft_review",
    ),
    path("shops/<slug:shop_slug>/alerts/", alert_views.alerts, name="alerts"),
    path(
        "shops/<slug:shop_slug>/alerts/reassign/",
        alert_views.alerts_reassign,
        name="alerts_reassign",
    ),
    path("shops/<slug:shop_slug>/shifts/", schedule_views.shifts, name="shifts"),
    path(
        "shops/<slug:shop_slug>/shifts/<int:shift_id>/",
        schedule_views.shift_edit,
        name="shift_edit",
    ),
    path("shops/<slug:shop_slug>/duty/", schedule_views.duty, name="duty"),
    path("shops/<slug:shop_slug>/coverage/", schedule_views.coverage, name="coverage"),
    path("shops/<slug:shop_slug>/sla-attainment/", report_views.attainment, name="attainment"),
    path("shops/<slug:shop_slug>/calendar/", settings_views.calendar, name="calendar"),
    path("shops/<slug:shop_slug>/sla-policies/", settings_views.policies, name="sla_policies"),
    path(
        "shops/<slug:shop_slug>/sla-policies/<int:policy_id>/",
        settings_views.policy_edit,
        name="sla_policy_edit",
    ),
    path("shops/<slug:shop_slug>/routing/", settings_views.routing, name="routing"),
]
