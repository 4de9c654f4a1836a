from django.urls import include, path

from madoguchi.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("healthz/jobs", core_views.healthz_jobs, name="healthz_jobs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("madoguchi.accounts.urls")),
    path("", include("madoguchi.conversations.urls")),
    path("", include("madoguchi.customers.urls")),
    path("mail/", include("madoguchi.connectors.mail.urls")),
    path("line/", include("madoguchi.connectors.line.urls")),
    path("", include("madoguchi.connectors.webform.urls")),
    path("phone/", include("madoguchi.connectors.phone.urls")),
    path("chat/", include("madoguchi.connectors.chat.urls")),
    path("", include("madoguchi.commerce.urls")),
    path("search/", include("madoguchi.search.urls")),
    path("operations/", include("madoguchi.operations.urls")),
    path("", include("madoguchi.privacy.urls")),
    path("csat/", include("madoguchi.csat.urls")),
    path("", include("madoguchi.knowledge.urls")),
    path("settings/", include("madoguchi.administration.urls")),
    path("audit/", include("madoguchi.audit.urls")),
    path("analytics/", include("madoguchi.analytics.urls")),
    path("reports/", include("madoguchi.reports.urls")),
    path("billing/", include("madoguchi.billing.urls")),
    path("menu/counts/", core_views.menu_counts, name="menu_counts"),
]

handler404 = "madoguchi.core.views.not_found"
handler500 = "madoguchi.core.views.server_error"
