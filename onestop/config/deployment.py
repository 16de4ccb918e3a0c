"""Settings for running on several machines (ADR 0027), parsed from the environment.

- ``ONESTOP_STORAGE_URL``: where uploaded files live. Empty: the data folder (one
  machine). ``s3://BUCKET[/PREFIX][?endpoint_url=…&region_name=…&addressing_style=path]``:
  S3-compatible object storage through django-storages, shared by every machine; the
  access key comes from the usual ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (or
  the instance's role). Files are encrypted by the product before they are stored.
- ``DATABASE_REPLICA_URL``: a streaming read replica of the primary (``DATABASE_URL``),
  the alias ``replica`` (see `onestop.common.replica`).
- ``DATABASE_URL`` with several hosts (PostgreSQL): ``postgres://USER@HOST1:PORT1,HOST2:PORT2/
  DB?target_session_attrs=read-write`` — libpq tries the hosts in turn and keeps the one
  that takes writes, so after a failover (the standby promoted by Patroni or the provider)
  the next connection finds the new primary with no change of settings.
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


def database_from_url(url: str, **options: Any) -> DBConfig:
    """``dj_database_url.parse`` that also takes libpq's list of hosts (ADR 0027, failover):
    ``postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write`` gives HOST
    ``h1,h2`` and PORT ``5432,5433``, which Django hands to libpq as they are. A host
    without a port takes the first port given, else libpq's default."""
    parts = urlsplit(url)
    if "," not in parts.netloc:
        return dj_database_url.parse(url, **options)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    hosts: list[str] = []
    ports: list[str] = []
    for entry in hostlist.split(","):
        host, port = _host_port(entry.strip())
        if not host:
            raise ImproperlyConfigured(f"DATABASE_URL: an empty host in {hostlist!r}")
        hosts.append(host)
        ports.append(port)
    first = f"{userinfo}@{hosts[0]}" if userinfo else hosts[0]
    config = dj_database_url.parse(parts._replace(netloc=first).geturl(), **options)
    if not config["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured("DATABASE_URL: several hosts work with PostgreSQL only")
    given = next((port for port in ports if port), "")
    config["HOST"] = ",".join(host.strip("[]") for host in hosts)
    config["PORT"] = ",".join(port or given for port in ports) if given else ""
    return config


def _host_port(entry: str) -> tuple[str, str]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` → (host, port)."""
    if entry.startswith("["):
        host, _, rest = entry.partition("]")
        port = rest.removeprefix(":")
        host += "]"
    else:
        host, _, port = entry.partition(":")
    if port and not port.isdigit():
        raise ImproperlyConfigured(f"DATABASE_URL: not a port number in {entry!r}")
    return host, port


def replica_database(url: str, primary: DBConfig) -> DBConfig | None:
    """The ``replica`` alias for ``DATABASE_REPLICA_URL`` (None when unset): the primary's
    options (connection age, JIT setting), its own address; in tests a mirror of the
    primary's test database (a replica has no test database of its own)."""
    url = url.strip()
    if not url:
        return None
    replica = database_from_url(
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
