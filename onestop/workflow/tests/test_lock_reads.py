"""What a state change reads when it locks its case (issue 10, session 23): the case row
with its encrypted columns (decision, document, signature) and its items' results read as
stored and decrypted only where the change reads them, and the case's audit stream's last
record read in the same statement, so that the change's record is one INSERT."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from onestop.audit.models import AuditRecord
from onestop.audit.services import verify_chain
from onestop.cases.models import Case
from onestop.cases.services import case_locked, case_submit
from onestop.common.fields import Sealed, _cipher
from onestop.testing.costs import audit_chain_reads, count_decryptions
from onestop.testing.factories import officer
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import item_claim, item_complete, item_return

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(example, beijing, media_root) -> Case:
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case


def _bmc(case: Case) -> CaseItem:
    return CaseItem.objects.get(case=case, item="birth_certificate")


def _hospital():
    return officer("hospital", "hospital", "qinbei-mch")


# The audit checks run in real transactions: inside a test's own transaction the
# submission's records are already known to the audit stream's shortcut, and a change's
# record would need no read of the chain even without the lock's (session 24, h-tidy).
@pytest.mark.django_db(transaction=True)
def test_a_claim_decrypts_nothing_and_writes_its_record_in_one_statement(
    case, beijing, monkeypatch
):
    bmc = _bmc(case)
    who = _hospital()
    decrypted = count_decryptions(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        row = item_claim(item_id=bmc.pk, actor=who, now=beijing("2026-11-20T10:00:00+08:00"))
    assert decrypted == []
    assert row.state == ItemState.IN_PROGRESS
    # the record follows the last one read with the lock: no read of the chain of its own
    assert audit_chain_reads(queries.captured_queries) == 0
    records = list(AuditRecord.objects.filter(stream=case.number).order_by("seq"))
    assert [r.action for r in records] == ["case_submitted", "item_claimed"]
    assert verify_chain(case.number) == []


@pytest.mark.django_db(transaction=True)
def test_a_completion_decrypts_the_case_document_only(case, beijing, monkeypatch):
    bmc = _bmc(case)
    who = _hospital()
    item_claim(item_id=bmc.pk, actor=who, now=beijing("2026-11-20T10:00:00+08:00"))
    document = Case.objects.get(pk=case.pk).document
    decrypted = count_decryptions(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        item_complete(
            item_id=bmc.pk,
            actor=who,
            result={"bmc_number": "Q450123456"},
            now=beijing("2026-11-20T11:00:00+08:00"),
        )
    # the case's document (the result's check of the newborns' birth dates, the e-licence)
    # once, and neither the decision nor any item's result; the rest are the newborns' own
    # rows, which the e-licence and the same-newborn check read (not the lock's)
    opened = _opened(decrypted)
    assert opened.count(_json(document)) == 1
    assert not any(t.startswith("{") and t != _json(document) for t in opened), opened
    assert audit_chain_reads(queries.captured_queries) == 0
    assert verify_chain(case.number) == []


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _opened(decrypted: list[object]) -> list[str]:
    """The texts of what was decrypted (the cipher's own, not counted)."""
    return [_cipher(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(str(t)) for t in decrypted]


def test_a_return_decrypts_the_case_document_only(case, beijing, monkeypatch):
    bmc = _bmc(case)
    document = Case.objects.get(pk=case.pk).document
    decrypted = count_decryptions(monkeypatch)
    item_return(
        item_id=bmc.pk,
        actor=_hospital(),
        reasons=["请补充出生医学证明首次签发登记表"],
        now=beijing("2026-11-20T10:00:00+08:00"),
    )
    # the parents' message goes to the applicant's phone, in the document; nothing else
    assert _opened(decrypted) == [_json(document)]
    assert verify_chain(case.number) == []


def test_the_locked_case_reads_as_a_case_read_whole(case):
    whole = Case.objects.get(pk=case.pk)
    with transaction.atomic():
        locked = case_locked(case.pk)
        assert isinstance(locked.__dict__["document"], Sealed)  # not decrypted yet
        for field in Case._meta.concrete_fields:
            assert getattr(locked, field.attname) == getattr(whole, field.attname), field.name
        assert not isinstance(locked.__dict__["document"], Sealed)  # decrypted once read
        assert locked.signature is None
        assert not hasattr(locked, "audit_last_seq") and not hasattr(locked, "sealed_document")
        # a whole save writes the values read (a sealed column is decrypted to be written)
        locked.save()
    again = Case.objects.get(pk=case.pk)
    assert (again.document, again.decision) == (whole.document, whole.decision)


def test_a_completion_that_readies_items_writes_them_in_one_update(case, beijing):
    """The completed row and the rows it readies: one UPDATE (issue 10, session 28,
    h-elicence: were two), each row as the two wrote it — the completion's columns on the
    completed row, the readying's on the readied ones, every other column as it was."""
    bmc = _bmc(case)
    who = _hospital()
    item_claim(item_id=bmc.pk, actor=who, now=beijing("2026-11-20T10:00:00+08:00"))
    fields = [f.attname for f in CaseItem._meta.concrete_fields]
    before = {r.pk: r for r in CaseItem.objects.filter(case=case)}
    now = beijing("2026-11-20T11:00:00+08:00")
    with CaptureQueriesContext(connection) as queries:
        item_complete(item_id=bmc.pk, actor=who, result={"bmc_number": "Q450123456"}, now=now)
    updates = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "workflow_caseitem"')
    ]
    after = {r.pk: r for r in CaseItem.objects.filter(case=case)}
    readied = [
        pk for pk, r in after.items() if before[pk].state == "waiting" and r.state == "ready"
    ]
    assert readied, "the birth certificate readies the items after it"
    assert len(updates) == 1, updates
    completed = {"state", "finished_at", "result", "version", "automatic"}
    readying = {"state", "received_at", "due_at", "due_provisional", "version"}
    for pk, row in after.items():
        changed = {f for f in fields if getattr(row, f) != getattr(before[pk], f)}
        if pk == bmc.pk:
            assert changed <= completed and row.state == ItemState.DONE
            assert row.result == {"bmc_number": "Q450123456"} and row.finished_at == now
        elif pk in readied:
            assert changed <= readying and row.received_at == now and row.due_at is not None
            assert row.result is None and row.version == before[pk].version + 1
        else:
            assert changed == set(), (row.item, changed)
