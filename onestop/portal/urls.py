from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.portal import apply_views, preview_views, views

app_name = "portal"
urlpatterns = [
    path("guide/", views.guide, name="guide"),
    path("apply/", apply_views.apply_index, name="apply"),
    path("apply/<slug:region>/", apply_views.apply_region, name="apply_region"),
    path("apply/<slug:region>/discard/", apply_views.apply_discard, name="apply_discard"),
    path("apply/<slug:region>/<slug:step>/", apply_views.apply_step, name="apply_step"),
    path(
        "apply/<slug:region>/files/<str:token>/",
        apply_views.apply_material,
        name="apply_material",
    ),
    path("cases/", views.my_cases, name="cases"),
    path("cases/<code:number>/", views.case_progress, name="case"),
    path("cases/<code:number>/notice.pdf", views.case_notice, name="notice"),
    path("cases/<code:number>/preview/", preview_views.preview_page, name="preview"),
    path(
        "cases/<code:number>/preview/<slug:kind>.pdf",
        preview_views.preview_pdf,
        name="preview_pdf",
    ),
    path("cases/<code:number>/supplement/", apply_views.case_supplement_page, name="supplement"),
    path(
        "cases/<code:number>/insurance-code/",
        views.insurance_code_done,
        name="insurance_code",
    ),
]
