"""``DATABASE_URL`` with libpq's list of hosts (ADR 0027, failover): the hosts and ports
reach libpq as it takes them, and a careless URL is refused with a clear message."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from onestop.config.deployment import database_from_url


def test_one_host_is_parsed_as_before():
    config = database_from_url("postgres://app:pw@db.internal:6432/onestop", conn_max_age=60)
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 6432, "onestop")
    assert config["CONN_MAX_AGE"] == 60


def test_several_hosts_reach_libpq_as_lists_with_the_session_attribute():
    config = database_from_url(
        "postgres://app:p%40ss@pg-a:5432,pg-b:5433/onestop?target_session_attrs=read-write"
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"]) == ("pg-a,pg-b", "5432,5433")
    assert (config["USER"], config["PASSWORD"], config["NAME"]) == ("app", "p@ss", "onestop")
    assert config["OPTIONS"] == {"target_session_attrs": "read-write"}


def test_a_host_without_a_port_takes_the_port_given_and_v6_addresses_keep_their_form():
    config = database_from_url("postgres://app@[fd00::1]:5433,[fd00::2],pg-c/onestop")
    assert (config["HOST"], config["PORT"]) == ("fd00::1,fd00::2,pg-c", "5433,5433,5433")
    assert database_from_url("postgres://app@pg-a,pg-b/onestop")["PORT"] == ""


@pytest.mark.parametrize(
    "url",
    [
        "postgres://app@pg-a:5432,:5433/onestop",  # an empty host
        "postgres://app@pg-a:5432,pg-b:fifty/onestop",  # not a port
        "sqlite://a,b/onestop.sqlite3",  # several hosts mean PostgreSQL
    ],
)
def test_a_careless_url_is_refused_with_a_message(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url)
