from django.urls import path

from onestop.hotline import views

app_name = "hotline"
urlpatterns = [
    # Public: the service guide and the FAQ (what parents and operators read alike).
    path("guide/", views.guide_index, name="guide_index"),
    path("guide/<slug:region>/", views.guide, name="guide"),
    path("faq/", views.faq, name="faq"),
    path("faq/reason/<slug:code>/", views.faq_reason, name="faq_reason"),
    path("faq/<slug:key>/", views.faq_entry, name="faq_entry"),
    # Operators (and health staff for the FAQ).
    path("hotline/", views.home, name="home"),
    path("hotline/lookup/", views.lookup, name="lookup"),
    path("hotline/faq/new/", views.faq_edit, name="faq_new"),
    path("hotline/faq/<slug:key>/edit/", views.faq_edit, name="faq_edit"),
]
