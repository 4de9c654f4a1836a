from django.urls import path

from madoguchi.billing import views

app_name = "billing"
urlpatterns = [
    path("", views.home, name="home"),
    path("settings/<int:workspace_id>/", views.settings_page, name="settings"),
    path("contracts/new/", views.contract_new, name="contract_new"),
    path("contracts/<int:contract_id>/", views.contract_detail, name="contract"),
    path("contracts/<int:contract_id>/terms/", views.contract_terms, name="contract_terms"),
    path("contracts/<int:contract_id>/draft/", views.contract_draft, name="contract_draft"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>/issue/", views.invoice_issue_view, name="invoice_issue"),
    path("invoices/<int:invoice_id>/discard/", views.invoice_discard_view, name="invoice_discard"),
    path("invoices/<int:invoice_id>/credit/", views.credit_note_view, name="invoice_credit"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:workspace_id>.csv", views.invoices_csv, name="invoices_csv"),
    path("shops/<slug:shop_slug>/", views.shop_billing, name="shop"),
    path(
        "shops/<slug:shop_slug>/invoices/<int:invoice_id>/pdf/",
        views.shop_invoice_pdf,
        name="shop_invoice_pdf",
    ),
    path("simulator/", views.simulator, name="simulator"),
]
