"""The embedded default's shared cache (the database table) keeps what is put in it: Django's
default of 300 entries culls a third of them on a write once exceeded, and the dashboards'
kept months and panels (per division, period and roll-up, ADR 0041) outnumber that — a
culled month is summed again from its days' rows on the next request."""

from __future__ import annotations

import pytest
from django.core.cache.backends.db import DatabaseCache

from onestop.config.settings import _cache


def _database_cache(**options: int) -> DatabaseCache:
    params = _cache("")
    params = {**params, "OPTIONS": {**params["OPTIONS"], **options}}  # type: ignore[dict-item]
    return DatabaseCache(str(params["LOCATION"]), params)


@pytest.mark.django_db
def test_a_kept_month_outlives_hundreds_of_other_keys() -> None:
    cache = _database_cache()
    cache.set("a-month", 7, 600)  # first in the table's key order: culled first
    for i in range(400):
        cache.set(f"k{i:03}", i, 600)
    assert cache.get("a-month") == 7


@pytest.mark.django_db
def test_with_djangos_default_it_would_not() -> None:
    cache = _database_cache(MAX_ENTRIES=300)
    cache.set("a-month", 7, 600)
    for i in range(400):
        cache.set(f"k{i:03}", i, 600)
    assert cache.get("a-month") is None
