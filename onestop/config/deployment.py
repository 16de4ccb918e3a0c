"""Settings for running on several machines (ADR 0027), parsed from the environment.

- ``ONESTOP_STORAGE_URL``: where uploaded files live. Empty: the data folder (one
  machine). ``s3://BUCKET[/PREFIX][?endpoint_url=…&region_name=…&addressing_style=path]``:
  S3-compatible object storage through django-storages, shared by every machine; the
  access key comes from the usual ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (or
  the instance's role). Files are encrypted by the product before they are stored.
- ``DATABASE_REPLICA_URL``: a streaming read replica of the primary (``DATABASE_URL``),
  the alias ``replica`` (see `onestop.common.replica`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import dj_database_url
from dj_database_url import DBConfig
from django.core.exceptions import ImproperlyConfigured

S3_OPTIONS = ("endpoint_url", "region_name", "addressing_style", "signature_version")


def storage_from_url(url: str, media_dir: Path) -> dict[str, Any]:
    """The ``default`` storage for ``ONESTOP_STORAGE_URL``."""
    url = url.strip()
    if not url:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media_dir), "base_url": "/never-public/"},
        }
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured("ONESTOP_STORAGE_URL must be empty or s3://BUCKET[/PREFIX]")
    query = dict(parse_qsl(parts.query))
    unknown = sorted(set(query) - set(S3_OPTIONS))
    if unknown:
        raise ImproperlyConfigured(f"ONESTOP_STORAGE_URL: unknown options {', '.join(unknown)}")
    options: dict[str, Any] = {
        "bucket_name": parts.netloc,
        "location": parts.path.strip("/"),
        # Private objects only: no ACL granting public reads; files are streamed by the
        # views that check role and jurisdiction, never linked to the store.
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
        "signature_version": query.get("signature_version", "s3v4"),
    }
    for name in ("endpoint_url", "region_name", "addressing_style"):
        if query.get(name):
            options[name] = query[name]
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def replica_database(url: str, primary: DBConfig) -> DBConfig | None:
    """The ``replica`` alias for ``DATABASE_REPLICA_URL`` (None when unset): the primary's
    options (connection age, JIT setting), its own address; in tests a mirror of the
    primary's test database (a replica has no test database of its own)."""
    url = url.strip()
    if not url:
        return None
    replica = dj_database_url.parse(
        url, conn_max_age=primary.get("CONN_MAX_AGE", 0), conn_health_checks=True
    )
    if (
        replica["ENGINE"] == "django.db.backends.postgresql"
        and primary["ENGINE"] == "onestop.common.postgresql"
    ):
        # The primary's PostgreSQL backend (ADR 0045: the health check without SELECT 1).
        replica["ENGINE"] = primary["ENGINE"]
    if replica["ENGINE"] != primary["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a replica of DATABASE_URL")
    if primary.get("OPTIONS"):
        replica["OPTIONS"] = {**primary["OPTIONS"], **replica.get("OPTIONS", {})}
    replica["TEST"] = {"MIRROR": "default"}
    return replica


def database_routers() -> list[str]:
    return ["onestop.common.replica.ReplicaRouter"]
