from django.contrib import admin
from django.urls import include, path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.common import httpguard
from onestop.guidance import views as guidance_views
from onestop.handover import views as handover_views
from onestop.integration.api import api as integration_api
from onestop.portal import confirm_views
from onestop.portal import views as portal_views
from onestop.supervision import deadline_views, urge_views

urlpatterns = [
    # First: Django tries the patterns in order, and every department system's call went
    # through ~50 others before this one (issue 10, "what every request pays"). No other
    # pattern matches a path under api/v1/ (onestop/common/tests/test_frame.py proves it), so
    # the order changes no answer.
    path("api/v1/", integration_api.urls),
    path("", portal_views.home, name="home"),
    path("healthz", httpguard.healthz, name="healthz"),
    path("readyz", httpguard.readyz, name="readyz"),
    path("accounts/", include("onestop.accounts.urls")),
    # Ratings (好差评, ADR 0038): /my/…/rate/, /counter/…/rate/, /work/ratings/, /supervise/ratings/
    path("", include("onestop.ratings.urls")),
    path("my/messages/", include("onestop.notifications.urls")),
    # Corrections (更正, ADR 0042): /my/cases/<number>/corrections/…, /work/corrections/…
    path("", include("onestop.corrections.urls")),
    path("my/cases/<code:number>/urge/<slug:item>/", urge_views.urge, name="item_urge"),
    path("my/guidance/", guidance_views.my_guidance, name="my_guidance"),
    path("my/", include("onestop.portal.urls")),
    # The other parent's confirmation link (ADR 0029): only the random token in the path.
    path("confirm/<str:token>/", confirm_views.confirm_link, name="confirm_link"),
    path("work/messages/", deadline_views.staff_messages, name="staff_messages"),
    path("work/handovers/", include("onestop.handover.urls")),
    path("work/guidance/", include("onestop.guidance.urls")),
    path("work/", include("onestop.departments.urls")),
    path("counter/", include("onestop.counter.urls")),
    path("supervise/handovers/", handover_views.supervise, name="handover_supervise"),
    path("supervise/", include("onestop.supervision.urls")),
    path("", include("onestop.hotline.urls")),  # /guide/, /faq/ (public), /hotline/
    path("", include("onestop.certificates.urls")),  # /verify/ (public), e-licence PDFs
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# A database outage outside a view is 503 with Retry-After, not a traceback (issue 8).
handler500 = "onestop.common.httpguard.server_error"
