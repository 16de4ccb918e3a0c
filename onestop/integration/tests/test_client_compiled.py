"""The API client's authentication reads the client by its key id with a statement
compiled once per process (`onestop.common.compiled`, issue 10 part 3): the same instance
as the queryset gives (deferred fields, the service account from ``select_related``), and
a deactivated client or account refused at once."""

from __future__ import annotations

import pytest

from onestop.integration.models import ApiClient
from onestop.integration.services import (
    _CLIENT_BY_KEY,
    AUTHENTICATION_SKIPS,
    api_client_authenticate,
    client_by_key,
)
from onestop.integration.tests.support import Api, hospital

pytestmark = pytest.mark.django_db


def _fields(obj: object) -> dict[str, object]:
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def test_the_compiled_read_is_the_querysets(media_root):
    issued = hospital()
    key_id = issued.client.key_id
    for _ in range(2):  # compiled, then reused
        fast = _CLIENT_BY_KEY.first(key_id)
        slow = client_by_key(key_id).first()
        assert fast is not None and slow is not None
        assert _fields(fast) == _fields(slow)
        client_skips = {f for f in AUTHENTICATION_SKIPS if "__" not in f}
        assert fast.get_deferred_fields() == slow.get_deferred_fields() == client_skips
        assert _fields(fast.user) == _fields(slow.user)
        assert fast.user.get_deferred_fields() == slow.user.get_deferred_fields()
        assert fast.webhook_secret == issued.webhook_secret  # loaded when asked
    assert _CLIENT_BY_KEY.first("osk_none_such") is None


def test_a_deactivated_client_or_account_is_refused_at_once(media_root):
    issued = hospital()
    api = Api(issued.token)
    assert api.get("/tasks").status_code == 200
    assert api_client_authenticate(issued.token) is not None
    ApiClient.objects.filter(pk=issued.client.pk).update(active=False)
    assert api.get("/tasks").status_code == 401
    ApiClient.objects.filter(pk=issued.client.pk).update(active=True)
    assert api.get("/tasks").status_code == 200
    user = issued.client.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert api.get("/tasks").status_code == 401
    assert Api(issued.token + "x").get("/tasks").status_code == 401
