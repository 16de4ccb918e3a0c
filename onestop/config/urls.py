from django.contrib import admin
from django.urls import include, path

from onestop.portal import views as portal_views

urlpatterns = [
    path("", portal_views.home, name="home"),
    path("accounts/", include("onestop.accounts.urls")),
    path("my/messages/", include("onestop.notifications.urls")),
    path("my/", include("onestop.portal.urls")),
    path("work/", include("onestop.departments.urls")),
    path("counter/", include("onestop.counter.urls")),
    path("supervise/", include("onestop.supervision.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
