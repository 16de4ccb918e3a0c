"""Reads of the integration API: what a department system's client may see of cases and
tasks, shaped as the API's schemas (`onestop.integration.schemas`) describe them.

Every read is narrowed to what the client's service account may see: a task or case
outside its department and jurisdiction is None here (404 at the API), exactly like one
that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, connections, router
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value
from django.utils import timezone

from onestop.accounts.permissions import (
    case_scope_key,
    cases_visible_to,
    items_for_officer,
    officer_scope_key,
)
from onestop.audit.services import access_record
from onestop.cases.claims import (
    ACTIVE_STATUSES,
    SSC_ITEM,
    _indexes,
    claims_of_keys,
    newborns_of_mothers,
    possible_duplicate_ids,
)
from onestop.cases.domain.newborns import newborn_keys
from onestop.cases.models import Case, Material, Newborn
from onestop.cases.services import case_locked_of
from onestop.certificates.effects import issued_with
from onestop.certificates.models import ELicence
from onestop.certificates.preview import REGISTRATION_ITEM, signed_preview_for
from onestop.certificates.selectors import prior_elicences, prior_elicences_of
from onestop.common.compiled import (
    CompiledFirst,
    CompiledPerKey,
    CompiledRowsPerKey,
    Statement,
    padded,
)
from onestop.common.fields import read_sealed, unseal
from onestop.common.kept import Kept
from onestop.corrections.effects import field_label
from onestop.corrections.models import Correction
from onestop.departments.selectors import ITEM_MATERIALS, task_notes, task_view_data
from onestop.integration.models import ApiClient
from onestop.integration.services import submitted_key
from onestop.policy.schema import PAYMENT_ITEM
from onestop.workflow.card import CARD_OF
from onestop.workflow.domain.newborns import item_code
from onestop.workflow.domain.payment import amount_text
from onestop.workflow.domain.results import RESULT_FIELDS
from onestop.workflow.models import (
    CaseItem,
    ItemState,
    PaymentNotice,
    PreviewConfirmation,
)
from onestop.workflow.selectors import (
    MULTIPLE,
    case_outcome_of,
    multiple_birth,
    newborn_word,
    newborn_word_of,
)


def client_profile(client: ApiClient) -> dict[str, Any]:
    """`ClientOut`: who the client is and what it subscribed to."""
    return {
        "key_id": client.key_id,
        "name": client.name,
        "department": client.department,
        "jurisdiction": {"kind": client.jurisdiction_kind, "code": client.jurisdiction_code},
        "may_submit_cases": client.may_submit_cases,
        "webhook_url": client.webhook_url,
        "events": list(client.events or []),
    }


# --- cases ------------------------------------------------------------------------------


# What the API's answers about a case read of it (`case_status`: `CaseOut`) and what its
# access check reads (who submitted it): not the application form and the signature, and
# the pre-review decision as its stored text, decrypted only where it is read (the
# timeline's answer does not; issue 10, session 24: the read decrypted all three).
CASE_STATUS_FIELDS = (
    *("id", "number", "region", "pack_version", "status", "idempotency_key"),
    *("submitted_at", "decided_at", "completed_at"),
)
# Whether the client's service account may see the case (`cases_visible_to`), asked in the
# statement that reads it.
VISIBLE = "visible_to_client"
_NUMBER = "onestop-stand-in-case-number"  # never a number: the path takes [A-Za-z0-9-]


def _case_of_client(client: ApiClient) -> Callable[[str], QuerySet[Case]]:
    visible = Exists(cases_visible_to(client.user, Case.objects.filter(pk=OuterRef("pk"))))

    def build(number: str) -> QuerySet[Case]:
        found = Case.objects.filter(number=number).order_by().only(*CASE_STATUS_FIELDS)
        return read_sealed(found, "decision").annotate(**{VISIBLE: visible})

    return build


# The case by its number with whether the client may see it: one statement, compiled once
# per client scope and database in this process (issue 10, session 24: two statements,
# each built and compiled per request, ~a third of the answer's CPU).
_CASE_OF_CLIENT = CompiledPerKey(Case, _NUMBER)


def case_for_client(client: ApiClient, number: str) -> Case | None:
    """The case by its number (one unique-index lookup) if this client submitted it or may
    see it — whether it may, asked of that one case in the same statement: not ``number =
    … AND (… OR pk IN (every case with an item in the jurisdiction))``, which PostgreSQL
    estimated so costly that it JIT-compiled every lookup (issue 10). The case has the
    columns `case_status` shows (`CASE_STATUS_FIELDS`)."""
    case = _CASE_OF_CLIENT.first(
        (client.pk, *case_scope_key(client.user)), lambda: _case_of_client(client), number
    )
    if case is None:
        return None
    unseal(case, "decision")
    if (case.idempotency_key or "").startswith(submitted_key(client, "")):
        return case
    return case if getattr(case, VISIBLE) else None


# What `case_status` shows of each item (`CaseItemOut`), then its e-licence in force (one
# per item, `ELicence`'s constraint) and whether the client may work it
# (`items_for_officer`), asked in the same statement.
CASE_ITEM_VALUES = (
    *("id", "item", "department", "state", "version", "received_at", "due_at"),
    *("due_provisional", "awaiting_confirmation", "finished_at"),
)


def _case_items(client: ApiClient, case_id: int) -> QuerySet[Any]:
    serial = (
        ELicence.objects.filter(
            case_id=OuterRef("case_id"), item_id=OuterRef("pk"), superseded_at__isnull=True
        )
        .order_by()
        .values("serial")[:1]
    )
    workable = Exists(items_for_officer(client.user, CaseItem.objects.filter(pk=OuterRef("pk"))))
    return (
        CaseItem.objects.filter(case_id=case_id)
        .order_by("position")
        .values_list(*CASE_ITEM_VALUES, Subquery(serial), workable)
    )


# The case's items with their serials and whether the client may work them, compiled once
# per client scope and database in this process (issue 10, session 24: were three
# statements, and a fourth for a completed case's outcome, each built per request).
_CASE_ID = -7_340_029_123
_CASE_ITEMS = CompiledRowsPerKey(_CASE_ID)


def _case_item_rows(client: ApiClient, case_id: int) -> list[tuple[Any, ...]]:
    return _CASE_ITEMS.rows(
        router.db_for_read(CaseItem),
        _scope_key(client),
        lambda case: _case_items(client, case),
        case_id,
    )


def _reasons_out(found: Sequence[Any]) -> list[dict[str, Any]]:
    """A decision's reasons or warnings as `ReasonOut`s: its three fields, in its order
    (the stored decision's keys are sorted: ``code``, ``detail``, ``message``)."""
    return [
        {"code": r.get("code", ""), "message": r.get("message", ""), "detail": r.get("detail")}
        for r in found
        if isinstance(r, dict)
    ]


def case_status(client: ApiClient, case: Case) -> dict[str, Any]:
    """The case's status, pre-review decision and items (no personal data): `CaseOut`."""
    rows = _case_item_rows(client, case.pk)
    decision = case.decision or {}
    return {
        "number": case.number,
        "region": case.region,
        "status": case.status,
        "decision": {
            "decision": decision.get("decision", "supplement"),
            "reasons": _reasons_out(decision.get("reasons", [])),
            "plan": decision.get("plan", []),
            "region": decision.get("region", case.region),
            "pack_version": decision.get("pack_version", case.pack_version),
            "warnings": _reasons_out(decision.get("warnings", [])),
        },
        "submitted_at": case.submitted_at,
        "decided_at": case.decided_at,
        "completed_at": case.completed_at,
        "outcome": case_outcome_of(case, [row[3] for row in rows]),
        "items": [
            {
                "item": item,
                "department": department,
                "state": state,
                "version": version,
                "received_at": received_at,
                "due_at": due_at,
                "due_provisional": due_provisional,
                "awaiting_confirmation": awaiting or None,
                "finished_at": finished_at,
                "elicence_serial": serial,
                "task_id": pk if workable else None,
            }
            for (
                pk,
                item,
                department,
                state,
                version,
                received_at,
                due_at,
                due_provisional,
                awaiting,
                finished_at,
                serial,
                workable,
            ) in rows
        ],
    }


def case_timeline(case: Case) -> dict[str, Any]:
    """`TimelineOut`: the case's progress lines, oldest first."""
    return {
        "number": case.number,
        "entries": [
            {"at": e.at, "kind": e.kind, "item": e.item, "message": e.message}
            for e in case.timeline.order_by("at", "pk")
        ],
    }


# --- tasks ------------------------------------------------------------------------------

STATE_FILTERS: dict[str, tuple[str, ...]] = {
    "ready": (ItemState.READY,),
    "in_progress": (ItemState.IN_PROGRESS,),
    "returned": (ItemState.RETURNED,),
    "open": (ItemState.READY, ItemState.IN_PROGRESS, ItemState.RETURNED),
    "done": (ItemState.DONE,),
}


def tasks_of_client(client: ApiClient) -> QuerySet[CaseItem]:
    """The items the client's department works in its jurisdiction."""
    return items_for_officer(client.user, CaseItem.objects.select_related("case"))


# Whether the task's case runs items per newborn of a multiple birth (`multiple_birth`),
# asked in the query that reads the task: `task_summary` reads it there instead of asking
# a query of its own (session 18: one statement less per task read, claim and completion).
# (The name is `workflow.selectors.MULTIPLE`: a row an action locked carries it too.)


def _with_multiple(rows: QuerySet[CaseItem]) -> QuerySet[CaseItem]:
    twin_rows = CaseItem.objects.filter(case_id=OuterRef("case_id"), newborn__gt=0)
    return rows.annotate(**{MULTIPLE: Exists(twin_rows)})


def _scope_key(client: ApiClient) -> tuple[Any, ...]:
    """What the client's reads of its tasks depend on besides their parameters: the
    client and every column of its service account `items_for_officer` reads (a changed
    scope is another key: what is compiled for one scope is never used for another)."""
    return (client.pk, *officer_scope_key(client.user))


# A task's read (its detail), compiled once per client scope and database in this
# process (the statement differs by the task's id only; issue 10 part 2).
_TASK = CompiledPerKey(CaseItem, -7_340_029_117)


def task_for_client(client: ApiClient, task_id: int) -> CaseItem | None:
    def build() -> Callable[[int], QuerySet[CaseItem]]:
        scope = _with_multiple(tasks_of_client(client))
        return lambda pk: scope.filter(pk=pk)

    return _TASK.first(_scope_key(client), build, task_id)


# What `task_summary` shows of a task and its case: a list or an action's answer reads
# these columns only, so it does not decrypt and parse the case's application form,
# pre-review decision and signature, nor the item's result (issue 10: web CPU per case).
SUMMARY_FIELDS = (
    *("id", "case_id", "item", "newborn", "department", "jurisdiction_kind"),
    *("jurisdiction_code", "state", "version", "received_at", "due_at", "due_provisional"),
    *("claimed_by_id", "case__id", "case__number", "case__region"),
)


def _task_ids(client: ApiClient) -> QuerySet[CaseItem]:
    return (
        items_for_officer(client.user, CaseItem.objects.all())
        .order_by("pk")  # no join for the items' default order (by their case's time)
        .only("pk", "case_id")
    )


def task_case_locked(client: ApiClient, task_id: int) -> Case | None:
    """The task's case, locked (`cases.services.case_locked`), if the client may act on
    the task; else None, and nothing locked. The access check of every task action and
    the action's lock are one statement (issue 10, session 26: two before), compiled once
    per client scope and database in this process (it differs by the task's id only)."""

    def build() -> Callable[[int], QuerySet[CaseItem, Any]]:
        scope = _task_ids(client)
        return lambda pk: scope.filter(pk=pk).values("case_id")

    return case_locked_of(("task", *_scope_key(client)), build, task_id)


# The access check of a batch of task actions (issue 10, session 26): compiled once per
# client scope and number of ids, that number rounded up to a power of two (the last id
# repeated), so a few statements serve every batch size.
_TASK_IDS = {
    1 << n: CompiledRowsPerKey(*(-7_340_029_117 - k for k in range(1 << n))) for n in range(7)
}


def task_ids_for_client(client: ApiClient, task_ids: Sequence[int]) -> dict[int, int]:
    """`task_id_for_client` of several tasks (1 to 64) in one statement: the case id of
    each task the client may act on, by the task's id."""
    ids = padded(task_ids)
    size = len(ids)

    def build(*values: int) -> QuerySet[CaseItem, tuple[int, int]]:
        return _task_ids(client).filter(pk__in=values).values_list("pk", "case_id")

    alias = router.db_for_read(CaseItem)
    return dict(_TASK_IDS[size].rows(alias, (_scope_key(client), size), build, *ids))


def task_fresh(task_id: int) -> CaseItem:
    """The task as it stands now (after an action on it), with its case (what
    `task_summary` shows of it)."""
    return _with_multiple(CaseItem.objects.select_related("case").only(*SUMMARY_FIELDS)).get(
        pk=task_id
    )


def task_after(row: CaseItem, *, detail: bool = False) -> CaseItem:
    """The task as the action that returned ``row`` left it, for the action's answer: the
    row the action locked, wrote and returned, with its locked case (`workflow.services
    ._lock`), is the task as it stands now — it is not read again (issue 10 part 2: one
    statement, and the case's encrypted columns decrypted once, per claim and completion).
    A row without its case (an action that returns another row) is read fresh: every
    column for the task's ``detail``, else the summary's."""
    if CaseItem.case.is_cached(row):
        return row
    return task_fresh_detail(row.pk) if detail else task_fresh(row.pk)


def task_fresh_detail(task_id: int) -> CaseItem:
    """The task as it stands now, with its case, every column (what `task_detail` shows
    of it: the case's form, the item's result and reasons)."""
    return _with_multiple(CaseItem.objects.select_related("case")).get(pk=task_id)


def _licence_in_force(item_id: int) -> QuerySet[ELicence]:
    return ELicence.objects.filter(item_id=item_id, superseded_at__isnull=True).only("serial")


# A done task's e-licence in force (every completion's answer shows its serial), compiled
# once per database in this process (issue 10 part 2; the statement differs by the item).
_LICENCE_IN_FORCE = CompiledFirst(ELicence, _licence_in_force, -7_340_029_117)


def task_summary(
    client: ApiClient, row: CaseItem, *, multiple: bool | None = None
) -> dict[str, Any]:
    """`TaskOut`: one task as a list shows it. ``multiple``: whether its case is for twins
    or more (known to a list for all its rows; asked otherwise)."""
    if multiple is None:
        multiple = getattr(row, MULTIPLE, None)
    if multiple is None:
        multiple = multiple_birth(row.case)
    # The licence the completion that returned the row issued (its answer: no read, session
    # 22), else the one in force.
    licence = (
        (issued_with(row) or _LICENCE_IN_FORCE.first(row.pk))
        if row.state == ItemState.DONE
        else None
    )
    serial = licence.serial if licence is not None else None
    return {
        "id": row.pk,
        "case_number": row.case.number,
        "region": row.case.region,
        "item": row.item,
        "department": row.department,
        "jurisdiction": {"kind": row.jurisdiction_kind, "code": row.jurisdiction_code},
        "state": row.state,
        "version": row.version,
        "received_at": row.received_at,
        "due_at": row.due_at,
        "due_provisional": row.due_provisional,
        "claimed_by_me": row.claimed_by_id == client.user_id,
        "elicence_serial": serial,
        "newborn": newborn_word(row, multiple),
    }


# What a task list reads of each task and its case (`task_page`): the columns `TaskOut`
# shows, as values — no encrypted column (the case's document, decision and signature,
# the item's result) is loaded or decrypted (issue 10, part 3: the department systems'
# poll decrypted ~100 values a request for nothing), and no model instance is built.
TASK_LIST_VALUES = (
    "id",
    "case__number",
    "case__region",
    "item",
    "department",
    "jurisdiction_kind",
    "jurisdiction_code",
    "state",
    "version",
    "received_at",
    "due_at",
    "due_provisional",
    "claimed_by_id",
    "newborn",
    MULTIPLE,
)


def _task_list(client: ApiClient, state: str, limit: int, after: int) -> QuerySet[Any]:
    return (
        _with_multiple(tasks_of_client(client))
        .filter(state__in=STATE_FILTERS[state], pk__gt=after)
        .order_by("pk")
        .values_list(*TASK_LIST_VALUES)[: limit + 1]
    )


# Building and compiling the list's queryset was ~a third of a poll's CPU left once the
# answer was written without pydantic (cProfile): the statement is compiled once per
# client, state and page size in this process, with a stand-in where ``after`` goes (it is
# never negative), and only that parameter is replaced per request. The key holds every
# column of the service account that `items_for_officer` reads, so a changed scope
# compiles afresh. The rows get the compiler's converters, as ``values_list`` applies
# them (none on PostgreSQL for these columns; SQLite's datetimes and booleans):
# `test_task_list_json` compares the answers with the list as it was.
_AFTER = -7_340_029_117
_LIST_ROWS = CompiledRowsPerKey(_AFTER)


def _task_rows(client: ApiClient, state: str, limit: int, after: int) -> list[tuple[Any, ...]]:
    return _LIST_ROWS.rows(
        connection.alias,
        (*_scope_key(client), state, limit),
        lambda since: _task_list(client, state, limit, since),
        after,
    )


def task_page(client: ApiClient, *, state: str, limit: int, after: int) -> dict[str, Any]:
    """`TaskListOut`: the client's tasks in ``state`` after id ``after``, by id — the same
    dicts `task_summary` makes of each, read in one statement (whether each task's case is
    for twins asked in it, `_with_multiple`) plus one for the e-licences of the done ones
    (none when no listed task is done; issue 10 part 3: was a twins query on every list
    and one licence query per done task)."""
    rows = _task_rows(client, state, limit, after)
    more = len(rows) > limit
    rows = rows[:limit]
    done = [row[0] for row in rows if row[7] == ItemState.DONE]
    serials: dict[int, str] = (
        dict(
            ELicence.objects.filter(item_id__in=done, superseded_at__isnull=True)
            .order_by()
            .values_list("item_id", "serial")
        )
        if done
        else {}
    )
    user_id = client.user_id
    tasks = [
        {
            "id": pk,
            "case_number": number,
            "region": region,
            "item": item,
            "department": department,
            "jurisdiction": {"kind": kind, "code": code},
            "state": row_state,
            "version": version,
            "received_at": received_at,
            "due_at": due_at,
            "due_provisional": provisional,
            "claimed_by_me": claimer == user_id,
            "elicence_serial": serials.get(pk),
            "newborn": newborn_word_of(item, newborn, bool(multiple)),
        }
        for (
            pk,
            number,
            region,
            item,
            department,
            kind,
            code,
            row_state,
            version,
            received_at,
            due_at,
            provisional,
            claimer,
            newborn,
            multiple,
        ) in rows
    ]
    return {"tasks": tasks, "next_after": rows[-1][0] if more and rows else None}


# --- what a task's detail reads of its case -----------------------------------------------
#
# Besides the task and its case (read by the access check, or locked by the claim), a
# task's detail asked four or five statements of the case: its declared materials' codes,
# its open preview (ADR 0035), the other cases that claimed a key of its newborns and the
# birth times of its and its mother's other cases (`possible_duplicates`), and those cases
# again, every column decrypted, only to be counted. They are one statement now (issue 10
# part 2, h-claimdetail): the four reads as parts of one ``UNION ALL``, each row tagged
# with its part, the claims' and births' rows with their case's status (the same join the
# births' read made), the preview's with its item and state only — it is read whole only
# where the task shows it. Since session 29 one task's detail reads them as a batch's do
# (`_facts_of_cases` of its one case): one definition of the reads.

_MATERIAL, _PREVIEW, _CLAIMED, _BIRTH = "m", "p", "c", "b"
_BORN_AT = Newborn._meta.get_field("born_at")


def _keys_of(case: Case) -> list[str]:
    """The blind indexes of the keys of ``case``'s newborns (what their claims are under)."""
    document = case.document if isinstance(case.document, dict) else {}
    return list(_indexes(newborn_keys(document)))


class _CaseFacts:
    """What a task's detail shows of its case besides the case row, from ``rows`` (the
    case's rows of `_facts_of_cases`' statement)."""

    __slots__ = ("declared", "duplicates", "preview")

    def __init__(self, case: Case, rows: Sequence[tuple[Any, ...]]) -> None:
        self.declared: set[str] = set()
        self.preview: tuple[str, str] | None = None
        claimed: set[int] = set()
        births: dict[int, list[str]] = {}
        status: dict[int, str] = {}
        connection_ = connections[router.db_for_read(Case)]
        for part, case_id, value, state in rows:
            if part == _MATERIAL:
                self.declared.add(value)
            elif part == _PREVIEW:
                self.preview = (value, state)
            else:
                status[case_id] = state
                if part == _CLAIMED:
                    claimed.add(case_id)
                else:  # the birth time, decrypted as the field's read decrypts it
                    born = _BORN_AT.from_db_value(value, None, connection_)
                    births.setdefault(case_id, []).append(born or "")
        # `possible_duplicates`' one rule over these rows; of its cases, the active ones.
        ids = possible_duplicate_ids(claimed, births.pop(case.pk, []), births)
        self.duplicates = sum(1 for other in ids if status[other] in ACTIVE_STATUSES)


# The detail's reads of one or several cases (an API batch claim's answers, issue 10,
# session 29: were one statement per task) in one statement: the same parts, each of every
# case — the materials and previews of the cases, the claims of any of their newborns'
# keys (with the key, each case's own left out here) and the births of their mothers'
# cases (with the mother's index: a case's own newborns are among them) — and each case's
# rows then made as one case's read alone would give them. Compiled once per database and
# number of cases, keys and mothers, each rounded up to a power of two (the last
# repeated); a stand-in wherever a value goes.
_CASES_AT = -7_340_029_301
_CASES_READS: Kept[tuple[str, str, int, int, int], Statement | None] = Kept(size=64)


def _cases_reads(
    materials_of: Sequence[Any],
    previews_of: Sequence[Any],
    keys: Sequence[Any],
    mothers: Sequence[Any],
) -> QuerySet[Any]:
    """The reads of `_facts_of_cases`: (part, case id, value, status, key or mother)."""
    blank = Value("")
    materials = (
        Material.objects.filter(case_id__in=materials_of)
        .order_by()
        .values_list(Value(_MATERIAL), "case_id", "code", blank, blank)
    )
    parts: list[QuerySet[Any]] = [
        PreviewConfirmation.objects.filter(case_id__in=previews_of)
        .order_by()
        .values_list(Value(_PREVIEW), "case_id", "item", "state", blank)
    ]
    if keys:
        parts.append(
            claims_of_keys(keys)
            .order_by()
            .values_list(Value(_CLAIMED), "case_id", blank, "case__status", "key_index")
        )
    if mothers:
        parts.append(
            newborns_of_mothers(mothers)
            .order_by()
            .values_list(
                Value(_BIRTH), "case_id", "born_at", "case__status", "case__mother_id_index"
            )
        )
    return materials.union(*parts, all=True)


def _cases_rows(ids: list[int], keys: list[str], mothers: list[str]) -> list[tuple[Any, ...]]:
    alias = router.db_for_read(Case)
    connection_ = connections[alias]
    ids, keys, mothers = padded(ids), padded(keys), padded(mothers)
    sizes = (len(ids), len(keys), len(mothers))

    def make() -> Statement | None:
        at = [_CASES_AT - n for n in range(2 * sizes[0])]
        key_at = [f"onestop-stand-in-details-key-{n}" for n in range(sizes[1])]
        mother_at = [f"onestop-stand-in-details-mother-{n}" for n in range(sizes[2])]
        query = _cases_reads(at[: sizes[0]], at[sizes[0] :], key_at, mother_at)
        sql, params = query.query.get_compiler(alias).as_sql()
        return Statement.of(sql, params, [*at, *key_at, *mother_at])

    statement = _CASES_READS.get_or_make((alias, connection_.vendor, *sizes), make)
    if statement is None:  # not compiled as expected: the queryset runs
        return [tuple(row) for row in _cases_reads(ids, ids, keys, mothers).using(alias)]
    return statement.rows(connection_, *ids, *ids, *keys, *mothers)


def _facts_of_cases(cases: Sequence[Case]) -> dict[int, _CaseFacts]:
    """`_CaseFacts` of each of ``cases`` (distinct), by the case's id, from one statement
    (`_cases_reads`): each case's rows as a read of it alone would give them — its
    materials and preview, the claims of its keys by other cases, and (where its mother's
    index is known) the births of her cases, its own among them."""
    keys_of = {case.pk: _keys_of(case) for case in cases}
    mothers = sorted({case.mother_id_index for case in cases if case.mother_id_index})
    every_key = sorted({key for keys in keys_of.values() for key in keys})
    own: dict[int, list[tuple[Any, ...]]] = {}
    claims: list[tuple[int, str, str]] = []
    births: dict[str, list[tuple[Any, ...]]] = {}
    for part, case_id, value, state, extra in _cases_rows(sorted(keys_of), every_key, mothers):
        if part == _CLAIMED:
            claims.append((case_id, state, extra))
        elif part == _BIRTH:
            births.setdefault(extra, []).append((part, case_id, value, state))
        else:
            own.setdefault(case_id, []).append((part, case_id, value, state))
    facts = {}
    for case in cases:
        keys = set(keys_of[case.pk])
        rows = [
            *own.get(case.pk, ()),
            *(
                (_CLAIMED, other, "", state)
                for other, state, key in claims
                if key in keys and other != case.pk
            ),
            *(births.get(case.mother_id_index, ()) if case.mother_id_index else ()),
        ]
        facts[case.pk] = _CaseFacts(case, rows)
    return facts


def task_details(client: ApiClient, rows: Sequence[CaseItem]) -> list[dict[str, Any]]:
    """`task_detail` of each of ``rows`` (an API batch claim's answers), what they read of
    their cases read for all of them at once: the cases' materials, previews and possible
    duplicates in one statement (`_facts_of_cases`) and the prior e-licences in one
    (`certificates.selectors.prior_elicences_of`) — per batch, not per task (issue 10,
    session 29: two statements per task)."""
    if len(rows) <= 1:
        return [task_detail(client, row) for row in rows]
    cases = list({row.case.pk: row.case for row in rows}.values())
    facts = _facts_of_cases(cases)
    priors = prior_elicences_of(rows)
    return [_detail(client, row, facts[row.case.pk], priors[row.pk]) for row in rows]


def task_detail(client: ApiClient, row: CaseItem) -> dict[str, Any]:
    """`TaskDetailOut` of one task (`_detail`), its case's facts read in one statement
    (`_CaseFacts`) and its prior e-licences in one."""
    case = row.case
    return _detail(client, row, _facts_of_cases([case])[case.pk], prior_elicences(row))


def _detail(
    client: ApiClient, row: CaseItem, facts: _CaseFacts, prior: list[dict[str, Any]]
) -> dict[str, Any]:
    """`TaskDetailOut`: what the item needs — the case document's fields its officers may
    see, the declared materials it reads, the result fields it asks for — and the
    e-licences of the items it waits for.

    Only e-licences whose seal verifies are shown, as the workbench's task view shows a
    result only under a verified seal (证照免交: "Only a verified result stands in for the
    paper certificate", `certificates.selectors.prior_elicences`): a tampered licence row
    is not passed on to a department system as if it were sealed.

    The case's materials, preview and possible duplicates are read in one statement
    (``facts``, `_CaseFacts`; were four or five); ``prior``: `prior_elicences` of the task.
    """
    declared = facts.declared
    return {
        **task_summary(client, row),
        "after": list(dict.fromkeys(item_code(key) for key in row.after)),
        "data": task_view_data(row),
        "notes": task_notes(row),
        "materials": [m for m in ITEM_MATERIALS.get(row.item, ()) if m in declared],
        "result_fields": [
            {
                "name": f.name,
                "label": f.label,
                "pattern": f.pattern,
                "example": f.example,
                "required": f.required,
                "kind": f.kind,
                "max_length": f.max_length,
            }
            for f in RESULT_FIELDS.get(row.item, ())
        ],
        "prior_elicences": [
            {
                "serial": p["serial"],
                "kind": p["kind"],
                "issuer_code": p["issuer_code"],
                "issuer_name": p["issuer"],
                "issued_at": p["issued_at"],
                "result": p["result"],
            }
            for p in prior
            if p["valid"]
        ],
        "signed_preview": _signed_preview(row, facts.preview),
        "result": row.result if row.state == ItemState.DONE else None,
        "reasons": list(row.reasons or []),
        "possible_duplicates": facts.duplicates,
        "payment": payment_due(row),
        "card": card_progress(row),
    }


# The payment notice of a payment task, compiled once per database in this process (every
# detail of such a task asks; the statement differs by the item's id only; the card's:
# `workflow.card.CARD_OF`).
_NOTICE_OF = CompiledFirst(
    PaymentNotice, lambda item_id: PaymentNotice.objects.filter(item_id=item_id), -7_340_029_117
)


def card_progress(row: CaseItem) -> dict[str, Any] | None:
    """The social security card of a card task (docs/adr/0037): the bank and branch the
    parents chose, pickup or post, and the statuses reported so far. Only the card item
    has one (`onestop.workflow.card`): the other tasks ask no query."""
    if row.item != SSC_ITEM:
        return None
    card = CARD_OF.first(row.pk)
    if card is None:
        return None
    return {
        "status": card.status,
        "status_label": card.get_status_display(),
        "bank": card.bank,
        "branch_code": card.branch_code,
        "branch_name": card.branch_name,
        "method": card.method,
        "history": [
            {"status": str(h.get("status", "")), "at": str(h.get("at", ""))} for h in card.history
        ],
    }


def _signed_preview(row: CaseItem, preview: tuple[str, str] | None) -> dict[str, Any] | None:
    """The applicant's e-signature on the previews (ADR 0035), as the workbench shows it.
    ``preview``: the case's preview's item and state (`_CaseFacts`): it is read whole only
    where `signed_preview_for` shows it — a confirmed preview, on the item that waited for
    it or the registration (no preview, another item's, or one not confirmed: None)."""
    if preview is None or row.item not in (preview[0], REGISTRATION_ITEM):
        return None
    if preview[1] != PreviewConfirmation.State.CONFIRMED:
        return None
    view = signed_preview_for(row)
    if view is None:
        return None
    e = view.evidence
    return {
        "valid": e["valid"],
        "signed_at": e["signed_at"],
        "signer_role": e["signer_role"],
        "method": e["method"],
        "digest": e["digest"],
        "key_id": e["key_id"],
        "algorithm": e["algorithm"],
        "documents": [
            {"kind": d.kind, "title": d.title, "rows": [list(r) for r in d.rows]}
            for d in view.documents
        ],
    }


def payment_due(row: CaseItem) -> dict[str, Any] | None:
    """The payment notice of a payment task (docs/adr/0031): what the tax system confirms
    against (``amount_yuan``: null where no premium is set for the region and year)."""
    if row.item != PAYMENT_ITEM:
        return None
    notice = _NOTICE_OF.first(row.pk)
    if notice is None:
        return None
    return {
        "year": notice.year,
        "amount_yuan": None if notice.amount_yuan is None else amount_text(notice.amount_yuan),
        "deadline": notice.deadline,
        "status": notice.status,
        "notified_at": notice.notified_at,
    }


# --- corrections (ADR 0042) -------------------------------------------------------------


def correction_out(correction: Correction) -> dict[str, Any]:
    """`CorrectionOut`: a correction as its issuing department's system sees it."""
    c = correction
    return {
        "id": c.pk,
        "case_number": c.case.number,
        "task_id": c.item_id,
        "item": c.item.item,
        "field": c.field,
        "field_label": field_label(c.item.item, c.field),
        "old_value": c.old_value,
        "new_value": c.new_value,
        "reason": c.reason,
        "requested_by": "parent" if c.requested_role == "parent" else "officer",
        "requested_at": c.requested_at,
        "state": c.state,
        "decided_at": c.decided_at,
        "refusal_reason": c.refusal_reason or None,
        "elicence": c.licence.serial,
        "corrected_elicence": c.corrected_licence.serial if c.corrected_licence else None,
    }


def correction_read(client: ApiClient, correction: Correction) -> None:
    """The read of a correction's values (personal data) by a department system, recorded."""
    access_record(
        actor=client.user,
        case_number=correction.case.number,
        what=f"correction:{correction.pk}",
        at=timezone.now(),
        granted=True,
    )
