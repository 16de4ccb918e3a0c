from django.urls import path

import onestop.common.converters  # noqa: F401  (<code:> and <id:>)
from onestop.common.replica import replica_view
from onestop.supervision import dashboard_views, deadline_views, views

app_name = "supervision"
urlpatterns = [
    # The reports read from the read replica when there is one (ADR 0027).
    path("", replica_view(views.cases), name="cases"),
    path("cases/<code:number>/", views.case, name="case"),
    path("deadlines/", replica_view(deadline_views.deadlines), name="deadlines"),
    path("efficiency/", replica_view(deadline_views.efficiency), name="efficiency"),
    path("dashboards/", replica_view(dashboard_views.dashboards), name="dashboards"),
    path(
        "dashboards/export/<slug:slug>.<str:fmt>",
        replica_view(dashboard_views.export),
        name="dashboards_export",
    ),
]
