"""After pre-review the services read the typed case document (issue 9, part 3), not the
raw dict: a phone written the way people write it is the same phone everywhere."""

from __future__ import annotations

import pytest

from onestop.accounts.permissions import cases_visible_to
from onestop.cases.domain.document import CaseDocument
from onestop.cases.models import Case
from onestop.cases.services import case_submit
from onestop.common.fields import index_of
from onestop.core.clock import parse_time
from onestop.notifications.models import Notification
from onestop.testing.factories import parent
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

QINBEI_AT = parse_time("2026-11-20T10:00:00+08:00")


def test_the_case_is_indexed_routed_and_messaged_from_the_typed_document(example, media_root):
    document = example("qinbei-accept")
    document["applicant"]["phone"] = "+86 138-0000-0000"  # as people write it
    document["mother"]["phone"] = "138 0000 0000"
    submission = case_submit(document=document, actor=None, now=QINBEI_AT)
    case = submission.case
    assert case.document["mother"]["phone"] == "138 0000 0000"  # stored as written
    typed = case.typed_document()
    assert isinstance(typed, CaseDocument)
    assert typed.mother is not None and typed.mother.phone == "13800000000"
    digits = index_of("13800000000", purpose="phone")
    assert case.applicant_phone_index == digits and case.mother_phone_index == digits
    # So the mother who signs in with her number finds her case…
    assert cases_visible_to(parent("13800000000"), Case.objects.all()).get() == case
    # …and the messages go to that number, once.
    assert set(Notification.objects.values_list("phone", flat=True)) == {"13800000000"}
    # The offices come from the typed document too (hospital and police station codes).
    offices = dict(CaseItem.objects.filter(case=case).values_list("item", "jurisdiction_code"))
    assert offices["birth_certificate"] == document["newborns"][0]["hospital"]


def test_the_typed_document_is_kept_per_document_and_follows_a_change(example):
    """`Case.typed_document` keeps the parse per document in the process (issue 10 part
    2): another instance with the same document gets the same parse, a changed document
    its own, and each equals a fresh ``parse_case``."""
    from onestop.cases.domain.document import parse_case

    document = example("qinbei-accept")
    first = Case(document=document).typed_document()
    again = Case(document=example("qinbei-accept")).typed_document()
    assert again is first  # one parse for the same document
    assert first == parse_case(document).document
    changed = example("qinbei-accept")
    changed["mother"]["name"] = "另一位母亲"
    typed = Case(document=changed).typed_document()
    assert typed is not first and typed.mother is not None
    assert typed.mother.name == "另一位母亲" != (first.mother.name if first.mother else None)
    assert typed == parse_case(changed).document


def test_the_submission_keeps_the_parse_of_the_document_it_stores(example, media_root):
    """The submission's pre-review parse is the stored case's typed document (issue 10,
    helper h-submission): equal to a parse of the stored document (unknown fields left
    out by both), and found by the case read again in the process."""
    from onestop.cases.domain.document import parse_case

    document = example("qinbei-accept")
    document["mother"]["nickname"] = "不认识的字段"  # unknown: not stored, not parsed
    document["extension"] = {"x": 1}
    case = case_submit(document=document, actor=None, now=QINBEI_AT).case
    assert "extension" not in case.document and "nickname" not in case.document["mother"]
    typed = case.typed_document()
    assert typed == parse_case(case.document).document
    assert Case.objects.get(pk=case.pk).typed_document() is typed


def test_a_locked_case_finds_its_parse_by_the_stored_token_without_decrypting(
    example, media_root, monkeypatch, settings
):
    """A case read sealed (the lock's read) is parsed once per stored token in the process
    (issue 10, session 31, h-cpu): the case's next lock finds the typed document by the
    token without decrypting the document; the same parse, the document still readable;
    a document changed (another token) is parsed anew; keys that no longer open the token
    refuse it as before."""
    from cryptography.fernet import Fernet
    from django.db import transaction

    from onestop.cases.claims import _keys_of
    from onestop.cases.domain.document import parse_case
    from onestop.cases.domain.newborns import newborn_keys
    from onestop.cases.services import case_locked
    from onestop.common.fields import EncryptedJSONField, Sealed
    from onestop.core.crypto import DecryptionFailed

    case = case_submit(document=example("qinbei-accept"), actor=None, now=QINBEI_AT).case
    opened: list[str] = []
    original = EncryptedJSONField.from_db_value

    def counted(self, value, expression, connection):
        opened.append(value)
        return original(self, value, expression, connection)

    monkeypatch.setattr(EncryptedJSONField, "from_db_value", counted)
    with transaction.atomic():
        first = case_locked(case.pk)
        assert type(first.__dict__["document"]) is Sealed
        typed = first.typed_document()
        keys = first.stored_fact("newborn_keys", _keys_of)  # after the document is open
    with transaction.atomic():
        again = case_locked(case.pk)
        assert again.typed_document() is typed
        assert again.stored_fact("newborn_keys", _keys_of) is keys
        assert type(again.__dict__["document"]) is Sealed  # not decrypted
    assert len(opened) <= 1  # the first lock's (or none: found by its text)
    assert list(keys) == newborn_keys(again.document)
    assert typed == parse_case(again.document).document  # still readable, the same parse
    changed = example("qinbei-accept")
    changed["mother"]["name"] = "另一位母亲"
    Case.objects.filter(pk=case.pk).update(document=changed)
    with transaction.atomic():
        other = case_locked(case.pk).typed_document()
    assert other.mother is not None and other.mother.name == "另一位母亲"
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with transaction.atomic(), pytest.raises(DecryptionFailed):
        case_locked(case.pk).typed_document()
