"""The product's URLs plus ``/bench/minimal/`` (benchmark only, `onestop.ops.bench_settings`):
the least a request through this deployment can cost — the product's middleware, one
INSERT into a scratch table the benchmark created, a few bytes of JSON."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path

from onestop.config.urls import handler500 as handler500
from onestop.config.urls import urlpatterns as product_urlpatterns
from onestop.ops.bench_e2e import MINIMAL_TABLE


def minimal(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {MINIMAL_TABLE} (at) VALUES (now()) RETURNING id")
        row = cursor.fetchone()
    return JsonResponse({"id": row[0] if row else None})


urlpatterns = [path("bench/minimal/", minimal), *product_urlpatterns]
