"""Fill a PostgreSQL database with N realistic cases, fast (`onestop gen-cases`).

Issue 10, part 4: the lookups must be measured on a database the size of a large province
(1 million cases a year, 10 million over ten years). Making that many cases through the
product would take days, so the generator does what the product does once per region and
copies it:

1. **Templates.** One accepted case per region is submitted by the birth hospital's system
   and worked to the end by the department systems through the product's own API views
   (`onestop.ops.gencases_templates`). Every row the product wrote for it is read back:
   the case, its people, newborn, materials, claims, items, e-licences, timeline, audit
   records, SMS and in-app messages, webhook deliveries.
2. **Copies**, written with PostgreSQL ``COPY`` (psycopg ``cursor.copy``), chunk by chunk,
   each chunk one transaction that also records how far the generator got (a table
   ``onestop_gencases``), so an interrupted run resumes where it stopped.

Per case, from a seeded random stream (the same ``--seed`` gives the same database):

- **region** in proportion to the regions' births (`REGION_WEIGHTS`), the region's
  **hospital**, police station and **division** codes; the **case number** in the
  product's format (``REGION-YYYYMMDD-NNNN``, numbers from 5001 so they never meet the
  product's own counter); submission time spread evenly over ``count / 1,000,000`` years
  (at least one) up to now;
- **state**: cases older than 30 days are finished (completed; 3 % rejected, 1 %
  withdrawn; 0.2 % still open and long overdue); younger ones are more open the younger
  they are: some items done, one ready or in progress (its due time shifted with the case,
  so some are overdue), the rest waiting; every row the product would not yet have written
  at that moment (timeline, audit, messages, webhooks, e-licences) is left out;
- **the parents' numbers**: the mother's and father's ID numbers and the phone numbers are
  per case (`id_number_of`, `phone_of`), with real keyed blind indexes
  (``onestop.core.crypto.blind_index`` under the database's index key) on the case and
  person rows and the ID numbers encrypted per case (``FieldCipher``), so a lookup by a
  parent's ID number or a parent's sign-in finds exactly that case;
- **the audit chain** per case is recomputed with the audit key (``audit.services``), so
  ``onestop audit-verify`` holds on the generated records;
- **retention as the product applies it**: sent SMS and delivered webhooks older than
  ``OUTBOX_SENT_RETENTION_DAYS`` (30) are not written (the product prunes them), nor the
  remembered idempotent API answers (pruned after a day).

**Pooled ciphertexts** (said so in docs/performance.md): encrypting every case document one
by one would dominate the run, so the encrypted columns other than the parents' ID numbers
— the case document and pre-review decision, names, phones, newborn data, item results,
e-licence payloads, message bodies — are the template case's own ciphertexts, reused.
They decrypt, but to the template's content; the e-licences' seals likewise cover the
template's sealed document (a generated serial does not verify). Blind indexes, case
numbers, division codes, hospitals, dates and states are per case.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

REGION_WEIGHTS = {  # roughly the regions' births per year
    "jilin": 0.42,
    "fuzhou": 0.26,
    "lanzhou": 0.17,
    "qinbei": 0.09,
    "yuanling": 0.06,
}
REGION_PLACES: dict[str, dict[str, Sequence[str]]] = {
    # hospitals (their division from reference/data/hospitals.csv), stations, divisions
    "qinbei": {
        "hospitals": (
            "qinbei-mch",
            "qinbei-people",
            "qinbei-xiaodong",
            "qinbei-dasi",
            "qinbei-pingji",
            "qinbei-dazhi",
            "qinbei-nameng",
            "qinbei-bancheng",
            "qinbei-qingtang",
            "qinbei-xintang",
            "qinbei-changtan",
            "qinbei-guitai",
            "qinbei-dadong",
        ),
        "stations": (
            "qinbei-ps",
            "qinbei-xiaodong",
            "qinbei-dasi",
            "qinbei-pingji",
            "qinbei-dazhi",
            "qinbei-nameng",
            "qinbei-bancheng",
            "qinbei-qingtang",
            "qinbei-xintang",
            "qinbei-changtan",
            "qinbei-guitai",
            "qinbei-dadong",
        ),
        "divisions": ("450703",),
    },
    "lanzhou": {
        "hospitals": ("lanzhou-mch", "lanzhou-qilihe"),
        "stations": ("lanzhou-ps",),
        "divisions": ("620102", "620103", "620104", "620105"),
    },
    "yuanling": {
        "hospitals": ("yuanling-people", "yuanling-mch"),
        "stations": ("yuanling-ps",),
        "divisions": ("431222",),
    },
    "fuzhou": {
        "hospitals": ("fujian-mch", "fuzhou-first", "fuzhou-jinan", "minhou-demo"),
        "stations": ("fuzhou-ps",),
        "divisions": ("350102", "350103", "350104", "350111", "350121"),
    },
    "jilin": {
        "hospitals": ("changchun-mch", "jilin-city-mch"),
        "stations": ("jilin-ps",),
        "divisions": ("220102", "220103", "220104", "220202"),
    },
}
CASES_PER_YEAR = 1_000_000
RECENT_DAYS = 30
STATE_TABLE = "onestop_gencases"
NUMBER_BASE = 5001


# --- per-case values the benchmark recomputes -----------------------------------------


def _check_digit(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return "10X98765432"[total % 11]


def id_number_of(index: int, role: str) -> str:
    """The generated case ``index``'s mother's or father's ID number: distinct for every
    index and role (a district of Beijing from 110101 on, a birth date, a two-digit
    sequence, the sex digit — even for women — and a valid check digit)."""
    rest, day = divmod(index, 9000)
    rest, seq = divmod(rest, 100)
    district, parity = divmod(rest, 5)
    born = datetime(1975, 1, 1) + timedelta(days=day + (role == "father") * 365 * 3)
    sex = parity * 2 + (role == "father")
    body = f"{110101 + district:06d}{born:%Y%m%d}{seq:02d}{sex}"
    return body + _check_digit(body)


def phone_of(index: int, role: str) -> str:
    """The generated case ``index``'s mother's (also the applicant's) or father's phone."""
    return f"{'139' if role == 'mother' else '138'}{index % 100_000_000:08d}"


# --- templates ------------------------------------------------------------------------


@dataclass
class Table:
    name: str
    columns: list[str]
    encrypted: set[str]
    datetimes: set[str]
    json_columns: set[str]
    link: str  # how a row belongs to a case: "case_id", "stream" or "case_number"

    @cached_property
    def positions(self) -> dict[str, int]:
        return {column: n for n, column in enumerate(self.columns)}


@dataclass
class Template:
    region: str
    number: str
    case_id: int
    division: str
    hospital: str
    hospital_division: str
    station: str
    t0: datetime  # submitted
    t_end: datetime  # completed
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    index_roles: dict[str, str] = field(default_factory=dict)  # template index → role key


def _tables() -> list[Table]:
    from django.db import models

    from onestop.audit.models import AuditRecord
    from onestop.cases.models import Case, Material, Newborn, NewbornClaim, Person, TimelineEntry
    from onestop.certificates.models import ELicence
    from onestop.common.fields import EncryptedJSONField, EncryptedTextField
    from onestop.integration.models import WebhookDelivery
    from onestop.notifications.models import Notification
    from onestop.workflow.models import CaseItem

    out = []
    for model, link in (
        (Case, "id"),
        (Person, "case_id"),
        (Newborn, "case_id"),
        (Material, "case_id"),
        (NewbornClaim, "case_id"),
        (CaseItem, "case_id"),
        (TimelineEntry, "case_id"),
        (ELicence, "case_id"),
        (Notification, "case_id"),
        (WebhookDelivery, "case_number"),
        (AuditRecord, "stream"),
    ):
        fields = model._meta.concrete_fields
        out.append(
            Table(
                name=model._meta.db_table,
                columns=[str(f.column) for f in fields],
                encrypted={
                    str(f.column)
                    for f in fields
                    if isinstance(f, EncryptedTextField | EncryptedJSONField)
                },
                datetimes={str(f.column) for f in fields if isinstance(f, models.DateTimeField)},
                json_columns={str(f.column) for f in fields if isinstance(f, models.JSONField)},
                link=link,
            )
        )
    return out


def _hospital_divisions() -> dict[str, str]:
    from onestop.reference.models import Institution

    return dict(Institution.objects.filter(kind="hospital").values_list("code", "division"))


def load_template(conn: Any, tables: list[Table], region: str, number: str) -> Template:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, division, hospital_code, police_station_code, submitted_at,"
            " completed_at FROM cases_case WHERE number = %s",
            (number,),
        )
        case_id, division, hospital, station, t0, t_end = cur.fetchone()
        tpl = Template(
            region=region,
            number=number,
            case_id=case_id,
            division=division,
            hospital=hospital,
            hospital_division=_hospital_divisions().get(hospital, division),
            station=station,
            t0=t0,
            t_end=t_end,
        )
        for table in tables:
            key = {"id": case_id, "case_id": case_id}.get(table.link, number)
            cur.execute(
                f"SELECT {', '.join(table.columns)} FROM {table.name}"
                f" WHERE {table.link} = %s ORDER BY id",
                (key,),
            )
            tpl.rows[table.name] = [dict(zip(table.columns, r, strict=True)) for r in cur]
        for person in tpl.rows["cases_person"]:
            if person["id_index"]:
                tpl.index_roles.setdefault(person["id_index"], f"id:{person['role']}")
        case = tpl.rows["cases_case"][0]
        for column, role in (
            ("mother_phone_index", "phone:mother"),
            ("father_phone_index", "phone:father"),
            ("applicant_phone_index", "phone:mother"),
        ):
            if case[column]:
                tpl.index_roles.setdefault(case[column], role)
    return tpl


# --- the state of a run ---------------------------------------------------------------


def _ensure_state(conn: Any) -> dict[str, Any] | None:
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id int PRIMARY KEY, count bigint,"
            " seed bigint, templates jsonb, done bigint, started_at timestamptz,"
            " now_at timestamptz)"
        )
        cur.execute(f"SELECT count, seed, templates, done, now_at FROM {STATE_TABLE} WHERE id=1")
        row = cur.fetchone()
    conn.commit()
    if row is None:
        return None
    return {"count": row[0], "seed": row[1], "templates": row[2], "done": row[3], "now": row[4]}


# --- one case -------------------------------------------------------------------------


class Ids:
    """Primary keys reserved from each table's sequence for one chunk."""

    def __init__(self, conn: Any, tables: list[Table], needed: dict[str, int]) -> None:
        self.next: dict[str, int] = {}
        with conn.cursor() as cur:
            for table in tables:
                n = needed.get(table.name, 0)
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
                    " nextval(pg_get_serial_sequence(%s, 'id')) + %s)",
                    (table.name, table.name, n),
                )
                last = cur.fetchone()[0]
                self.next[table.name] = last - n

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class Keys:
    index_key: str
    cipher: Any
    audit_key: bytes
    audit_kid: str


def _blind(keys: Keys, value: str, purpose: str) -> str:
    from onestop.core.crypto import blind_index

    return blind_index(keys.index_key, value, purpose=purpose)


class CaseMaker:
    """Turns the templates into the rows of generated case ``index``."""

    def __init__(
        self,
        templates: dict[str, Template],
        tables: list[Table],
        keys: Keys,
        count: int,
        now: datetime,
    ) -> None:
        self.templates = templates
        self.tables = {t.name: t for t in tables}
        self.keys = keys
        self.count = count
        self.now = now
        self.years = max(1.0, count / CASES_PER_YEAR)
        self.span = timedelta(days=365 * self.years)
        self.start = now - self.span
        self.hospital_divisions = _hospital_divisions()
        self.regions = list(REGION_WEIGHTS)
        self.cumulative: list[float] = []
        acc = 0.0
        for region in self.regions:
            acc += REGION_WEIGHTS[region]
            self.cumulative.append(acc)
        self.per_day = max(1, round(count / (self.span.days or 1)))
        self.retention = timedelta(days=30)
        self._plans: dict[int, tuple[list[Any], list[tuple[int, str]]]] = {}
        self._audit_plans: dict[int, tuple[list[Any], str]] = {}

    def submitted_at(self, index: int) -> datetime:
        return self.start + self.span * ((index + 0.5) / self.count)

    def number_of(self, index: int, region: str, submitted: datetime) -> str:
        """Unique: the case's position in its (Beijing) day, over all regions, from 5001."""
        local = submitted + timedelta(hours=8)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=8)
        # cases are spaced evenly, so the first index of the day is computable
        first = int(((midnight - self.start) / self.span) * self.count - 0.5)
        first = max(0, first)
        while first > 0 and self.submitted_at(first - 1) >= midnight:
            first -= 1
        while self.submitted_at(first) < midnight:
            first += 1
        return f"{region.upper()}-{local:%Y%m%d}-{NUMBER_BASE + index - first:04d}"

    def region_of(self, rng: random.Random) -> str:
        x = rng.random() * self.cumulative[-1]
        for region, edge in zip(self.regions, self.cumulative, strict=True):
            if x <= edge:
                return region
        return self.regions[-1]

    def rows(self, index: int, rng: random.Random, ids: Ids) -> dict[str, list[tuple[Any, ...]]]:
        region = self.region_of(rng)
        tpl = self.templates[region]
        places = REGION_PLACES[region]
        submitted = self.submitted_at(index) + timedelta(seconds=rng.random() * 30)
        number = self.number_of(index, region, self.submitted_at(index))
        hospital = rng.choice(list(places["hospitals"]))
        hospital_division = self.hospital_divisions.get(hospital, tpl.hospital_division)
        division = (
            hospital_division
            if rng.random() < 0.7 and hospital_division in places["divisions"]
            else rng.choice(list(places["divisions"]))
        )
        station = rng.choice(list(places["stations"]))
        age = self.now - submitted

        # What happened to the case: its status and the moment (template time) it reached.
        items = tpl.rows["workflow_caseitem"]
        finishes = sorted(r["finished_at"] for r in items if r["finished_at"] is not None)
        status = "completed"
        roll = rng.random()
        if age > timedelta(days=RECENT_DAYS):
            if roll < 0.03:
                status = "rejected"
            elif roll < 0.04:
                status = "withdrawn"
            elif roll < 0.042:
                status = "in_progress"
        else:
            open_share = 0.9 * (1 - age / timedelta(days=RECENT_DAYS))
            if roll < 0.02:
                status = "rejected"
            elif roll < 0.03:
                status = "supplement"
            elif roll < 0.03 + open_share:
                status = "in_progress"
        if status == "completed":
            cut = tpl.t_end
        elif status == "in_progress":
            k = rng.randrange(len(finishes))
            cut = finishes[k] - timedelta(microseconds=1)
        else:
            cut = tpl.t0
        # Template time → this case's time: decisions at once, the items' work stretched
        # over days (due times shifted, not stretched).
        work = max((tpl.t_end - tpl.t0).total_seconds(), 1e-3)
        if status == "completed":
            days = float(rng.choice((1, 2, 3, 4, 5, 6, 8, 10, 15)))
            if age > timedelta(days=days):
                span_days = days
            else:
                span_days = max(age.total_seconds() / 86400 * 0.9, 0.01)
        elif status == "in_progress":
            done_share = max((cut - tpl.t0).total_seconds(), 0.0) / work
            span_days = age.total_seconds() / 86400 * rng.uniform(0.3, 0.95) / max(done_share, 1e-3)
        else:
            span_days = 1.0
        factor = span_days * 86400 / work
        shift = submitted - tpl.t0

        def stretch(value: datetime) -> datetime:
            return submitted + (value - tpl.t0) * factor

        replace = [
            (tpl.number, number),
            (f"osk_{tpl.region}_hosp:", f"osk_{region}_hosp:gen{index}-"),
        ]
        if tpl.hospital != hospital:
            replace.append((tpl.hospital, hospital))
        if tpl.station != station:
            replace.append((tpl.station, station))
        if tpl.division == tpl.hospital_division:
            replace.append((tpl.division, division))
        else:
            replace.append((tpl.division, division))
            replace.append((tpl.hospital_division, hospital_division))
        indexes = self._indexes(index, tpl)

        out: dict[str, list[tuple[Any, ...]]] = {}
        new_case_id = ids.take("cases_case")
        item_ids: dict[int, int] = {}
        item_state: dict[int, str] = {}

        def text(value: str, column: str) -> str:
            for old, new in replace:
                if old in value:
                    value = value.replace(old, new)
            return value

        def emit(name: str, row: dict[str, Any], **override: Any) -> None:
            table = self.tables[name]
            base, slots = self._plan(tpl, table, row)
            values = base.copy()
            fresh: tuple[str, str] | None = None
            for pos, kind in slots:
                value = base[pos]
                if kind == "dt":
                    values[pos] = stretch(value)
                elif kind == "due":
                    values[pos] = value + shift
                elif kind == "uuid":
                    made = uuid.uuid4()
                    fresh = (str(value), str(made))
                    values[pos] = made
                elif kind == "index":
                    values[pos] = indexes.get(value, value)
                else:
                    value = text(value, "")
                    if fresh is not None and fresh[0] in value:
                        value = value.replace(*fresh)
                    values[pos] = value
            where = table.positions
            for column, value in override.items():
                values[where[column]] = value
            out.setdefault(name, []).append(tuple(values))

        # the case
        case = tpl.rows["cases_case"][0]
        emit(
            "cases_case",
            case,
            id=new_case_id,
            status=status,
            completed_at=stretch(tpl.t_end) if status == "completed" else None,
            decided_at=submitted,
            submitted_at=submitted,
        )
        # people, with this case's ID numbers encrypted
        for row in tpl.rows["cases_person"]:
            override: dict[str, Any] = {"id": ids.take("cases_person"), "case_id": new_case_id}
            if row["role"] in ("mother", "father"):
                override["id_number"] = self.keys.cipher.encrypt(id_number_of(index, row["role"]))
            elif row["id_index"] and row["id_index"] not in indexes:
                override["id_index"] = _blind(self.keys, f"trustee{index}", "id")
            emit("cases_person", row, **override)
        for row in tpl.rows["cases_newborn"]:
            emit("cases_newborn", row, id=ids.take("cases_newborn"), case_id=new_case_id)
        for k, row in enumerate(tpl.rows["cases_material"]):
            token = hashlib.blake2b(f"{index}:{k}".encode(), digest_size=16).hexdigest()
            emit(
                "cases_material",
                row,
                id=ids.take("cases_material"),
                case_id=new_case_id,
                token=token,
                file=row["file"].replace(row["token"], token) if row["file"] else row["file"],
            )
        active = status not in ("rejected", "withdrawn")
        for row in tpl.rows["cases_newbornclaim"]:
            emit(
                "cases_newbornclaim",
                row,
                id=ids.take("cases_newbornclaim"),
                case_id=new_case_id,
                key_index=_blind(
                    self.keys, f"gen:{index}:{row['kind']}:{row['position']}", "claim"
                ),
                active=active,
                released_at=None if active else stretch(cut),
            )
        # items: done up to the cut, one open, the rest waiting
        if status in ("completed", "in_progress"):
            for row in items:
                new_id = ids.take("workflow_caseitem")
                item_ids[row["id"]] = new_id
                override = {"id": new_id, "case_id": new_case_id}
                if row["finished_at"] is not None and row["finished_at"] <= cut:
                    item_state[row["id"]] = "done"
                elif row["received_at"] is not None and row["received_at"] <= cut:
                    claimed = row["claimed_at"] is not None and row["claimed_at"] <= cut
                    item_state[row["id"]] = "in_progress" if claimed else "ready"
                    override.update(
                        state=item_state[row["id"]],
                        finished_at=None,
                        result=None,
                        claimed_at=stretch(row["claimed_at"]) if claimed else None,
                        claimed_by_id=row["claimed_by_id"] if claimed else None,
                        urgency="overdue"
                        if row["due_at"] is not None and row["due_at"] + shift < self.now
                        else "normal",
                    )
                else:
                    item_state[row["id"]] = "waiting"
                    override.update(
                        state="waiting",
                        received_at=None,
                        due_at=None,
                        finished_at=None,
                        result=None,
                        claimed_at=None,
                        claimed_by_id=None,
                    )
                emit("workflow_caseitem", row, **override)
        for row in tpl.rows["cases_timelineentry"]:
            if row["at"] <= cut:
                emit(
                    "cases_timelineentry",
                    row,
                    id=ids.take("cases_timelineentry"),
                    case_id=new_case_id,
                )
        for row in tpl.rows["certificates_elicence"]:
            if item_state.get(row["item_id"]) == "done":
                emit(
                    "certificates_elicence",
                    row,
                    id=ids.take("certificates_elicence"),
                    case_id=new_case_id,
                    item_id=item_ids[row["item_id"]],
                )
        kept_since = self.now - self.retention
        for row in tpl.rows["notifications_notification"]:
            if row["created_at"] > cut:
                continue
            at = stretch(row["created_at"])
            if row["channel"] == "sms" and at < kept_since:
                continue  # sent SMS are pruned after the retention
            emit(
                "notifications_notification",
                row,
                id=ids.take("notifications_notification"),
                case_id=new_case_id,
                dedup_key=text(row["dedup_key"], "dedup_key")
                if tpl.number in row["dedup_key"]
                else f"{row['dedup_key']}:{number}",
                status="sent",
                attempts=1,
                sent_at=at,
                read_at=at + timedelta(hours=2)
                if row["channel"] == "in_app" and at < kept_since
                else None,
            )
        for row in tpl.rows["integration_webhookdelivery"]:
            if row["created_at"] > cut:
                continue
            at = stretch(row["created_at"])
            if at < kept_since:
                continue  # delivered webhooks are pruned after the retention
            emit(
                "integration_webhookdelivery",
                row,
                id=ids.take("integration_webhookdelivery"),
                status="delivered",
                attempts=1,
                last_status_code=204,
                delivered_at=at,
            )
        self._audit(tpl, cut, stretch, text, ids, out)
        return out

    def _plan(
        self, tpl: Template, table: Table, row: dict[str, Any]
    ) -> tuple[list[Any], list[tuple[int, str]]]:
        """The row's values as the template has them, and which of them change per case."""
        key = id(row)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        tokens = (
            tpl.number,
            f"osk_{tpl.region}_hosp:",
            tpl.hospital,
            tpl.station,
            tpl.division,
            tpl.hospital_division,
        )
        base: list[Any] = []
        slots: list[tuple[int, str]] = []
        for pos, column in enumerate(table.columns):
            value = row[column]
            kind = ""
            if value is None or column in table.encrypted:
                pass
            elif column in table.datetimes:
                kind = "due" if column == "due_at" else "dt"
            elif isinstance(value, uuid.UUID):
                kind = "uuid"
            else:
                if column in table.json_columns:
                    value = json.dumps(value, ensure_ascii=False)
                if isinstance(value, str):
                    if column.endswith("_index"):
                        kind = "index" if value else ""
                    elif column in ("hash", "prev_hash", "sealed", "signature"):
                        pass
                    elif column == "payload" or any(t in value for t in tokens):
                        kind = "text"
            base.append(value)
            if kind:
                slots.append((pos, kind))
        plan = (base, slots)
        self._plans[key] = plan
        return plan

    def _indexes(self, index: int, tpl: Template) -> dict[str, str]:
        out = {}
        for old, role in tpl.index_roles.items():
            kind, who = role.split(":")
            if kind == "id":
                if who not in ("mother", "father"):
                    who = "mother"  # the applicant is the mother in the templates
                out[old] = _blind(self.keys, id_number_of(index, who), "id")
            else:
                out[old] = _blind(self.keys, phone_of(index, who), "phone")
        return out

    def _audit(
        self,
        tpl: Template,
        cut: datetime,
        stretch: Callable[[datetime], datetime],
        text: Callable[[str, str], str],
        ids: Ids,
        out: dict[str, list[tuple[Any, ...]]],
    ) -> None:
        import hmac

        table = self.tables["audit_auditrecord"]
        where = table.positions
        prev = "0" * 64
        for row in tpl.rows["audit_auditrecord"]:
            if row["at"] > cut:
                break
            base, canonical_tpl = self._audit_plan(table, row)
            values = base.copy()
            at = stretch(row["at"])
            canonical = text(canonical_tpl, "").replace(
                AT_MARK, at.astimezone(UTC).isoformat(timespec="microseconds")
            )
            values[where["id"]] = ids.take("audit_auditrecord")
            values[where["at"]] = at
            for column in ("stream", "object_id", "detail"):
                values[where[column]] = text(values[where[column]], column)
            values[where["prev_hash"]] = prev
            values[where["hash"]] = prev = hmac.new(
                self.keys.audit_key, f"{prev}\n{canonical}".encode(), hashlib.sha256
            ).hexdigest()
            out.setdefault("audit_auditrecord", []).append(tuple(values))

    def _audit_plan(self, table: Table, row: dict[str, Any]) -> tuple[list[Any], str]:
        """An audit record's values and its canonical body (``audit.services``), the time
        left as a mark, as the template has them."""
        key = id(row)
        plan = self._audit_plans.get(key)
        if plan is None:
            values = dict(row)
            values["alg"] = "hmac-sha256"
            values["key_id"] = self.keys.audit_kid
            body = {
                "at": AT_MARK,
                "stream": row["stream"],
                "seq": row["seq"],
                "actor": row["actor_id"],
                "actor_label": row["actor_label"],
                "action": row["action"],
                "object_type": row["object_type"],
                "object_id": row["object_id"],
                "detail": row["detail"],
                "alg": values["alg"],
                "kid": values["key_id"],
            }
            canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            values["detail"] = json.dumps(row["detail"], ensure_ascii=False)
            plan = ([values[c] for c in table.columns], canonical)
            self._audit_plans[key] = plan
        return plan


AT_MARK = "@@onestop-gen-at@@"  # JSON leaves it as it is (no escapes)


# --- the run --------------------------------------------------------------------------


def _keys() -> Keys:
    from django.conf import settings

    from onestop.audit.services import audit_keys
    from onestop.common.fields import cipher

    kid, key = next(iter(audit_keys().items()))
    return Keys(index_key=settings.BLIND_INDEX_KEY, cipher=cipher(), audit_key=key, audit_kid=kid)


def _copy(conn: Any, table: Table, rows: Iterable[tuple[Any, ...]]) -> int:
    n = 0
    columns = ", ".join(table.columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def generate(
    url: str, count: int, *, chunk: int = 5000, seed: int = 1, out: Any = sys.stdout
) -> dict[str, Any]:
    """Fill the database at ``url`` (migrated, reference data seeded: Django is set up on
    it) up to ``count`` generated cases; resumes a run that stopped."""
    import psycopg

    from onestop.ops.gencases_templates import make_templates

    tables = _tables()
    conn = psycopg.connect(url)
    state = _ensure_state(conn)
    if state is None:
        templates = make_templates()
        now = datetime.now(UTC).replace(microsecond=0)
        with conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO {STATE_TABLE} VALUES (1, %s, %s, %s, 0, now(), %s)",
                (count, seed, json.dumps(templates), now),
            )
        conn.commit()
        state = {"count": count, "seed": seed, "templates": templates, "done": 0, "now": now}
    elif state["count"] != count or state["seed"] != seed:
        raise SystemExit(
            f"this database was generated with --count {state['count']} --seed {state['seed']};"
            " give the same to resume, or use a fresh database"
        )
    loaded = {
        region: load_template(conn, tables, region, number)
        for region, number in state["templates"].items()
    }
    maker = CaseMaker(loaded, tables, _keys(), count, state["now"])
    done = int(state["done"])
    started = time.monotonic()
    rows_total = 0
    first = done
    by_name = {t.name: t for t in tables}
    # Upper bound of the rows one case can take, per table (ids reserved per chunk).
    per_case = {name: len(rows) + 1 for name, rows in next(iter(loaded.values())).rows.items()}
    for tpl in loaded.values():
        for name, rows in tpl.rows.items():
            per_case[name] = max(per_case[name], len(rows) + 1)
    with conn.cursor() as cur:
        # The rows are consistent by construction: no per-row foreign-key trigger while
        # copying (a superuser's session setting; the constraints stay).
        try:
            cur.execute("SET session_replication_role = replica")
        except psycopg.Error:
            conn.rollback()
    while done < count:
        n = min(chunk, count - done)
        rng = random.Random(seed * 1_000_003 + done)
        ids = Ids(conn, tables, {name: k * n for name, k in per_case.items()})
        batch: dict[str, list[tuple[Any, ...]]] = {}
        for index in range(done, done + n):
            for name, made in maker.rows(index, rng, ids).items():
                batch.setdefault(name, []).extend(made)
        for name, made in batch.items():
            rows_total += _copy(conn, by_name[name], made)
        with conn.cursor() as cur:
            cur.execute(f"UPDATE {STATE_TABLE} SET done = %s WHERE id = 1", (done + n,))
        conn.commit()
        done += n
        elapsed = time.monotonic() - started
        rate = (done - first) / elapsed if elapsed else 0.0
        left = (count - done) / rate if rate else 0.0
        out.write(
            f"gen-cases: {done:,}/{count:,} cases, {rows_total:,} rows,"
            f" {rate:,.0f} cases/s, {rows_total / elapsed if elapsed else 0:,.0f} rows/s,"
            f" ~{left / 60:.1f} min left\n"
        )
        out.flush()
    ratings = generate_ratings(conn, now=state["now"], out=out)
    conn.commit()
    # VACUUM as well as ANALYZE: a database that filled over years has had autovacuum pass
    # over its tables (their visibility maps set, so index-only scans read no heap); one
    # filled by COPY a minute ago has not (at 1 M: "Heap Fetches: 4072" for the officer
    # queue's count). VACUUM cannot run inside a transaction block.
    conn.autocommit = True
    with conn.cursor() as cur:
        out.write("gen-cases: VACUUM (ANALYZE) …\n")
        out.flush()
        cur.execute("VACUUM (ANALYZE)")
        cur.execute("SELECT pg_database_size(current_database())")
        size = (cur.fetchone() or (0,))[0]
    conn.autocommit = False
    conn.close()
    elapsed = time.monotonic() - started
    return {
        "cases": done,
        "generated_now": done - first,
        "rows": rows_total,
        "seconds": elapsed,
        "database_bytes": size,
        "ratings": ratings.get("ratings", 0),
    }


# --- ratings (issue 12 gap 4) ----------------------------------------------------------------

RATINGS_STATE_TABLE = "onestop_genratings"
RATINGS_SHARE = 35  # percent of the completed cases rated
RATINGS_CHUNK = 20_000  # case ids per transaction


def _h(expr: str) -> str:
    """A deterministic hash of a SQL text expression, 0 … 2²⁸−1 (md5's first 28 bits)."""
    return f"(('x' || substr(md5({expr}), 1, 7))::bit(28)::int)"


_RATINGS_SQL = f"""
INSERT INTO ratings_rating
    (case_id, step, item_id, department, division, grade, comment, channel, rater_id, at)
SELECT c.id, s.step, s.item_id, s.department, c.division,
    CASE
        WHEN mod({_h("c.number || ':' || s.step || ':g'")}, 1000) < 12 THEN 1
        WHEN mod({_h("c.number || ':' || s.step || ':g'")}, 1000) < 30 THEN 2
        WHEN mod({_h("c.number || ':' || s.step || ':g'")}, 1000) < 80 THEN 3
        WHEN mod({_h("c.number || ':' || s.step || ':g'")}, 1000) < 400 THEN 4
        ELSE 5
    END,
    %(empty)s,
    CASE
        WHEN mod({_h("c.number || ':ch'")}, 100) < 55 THEN 'online'
        WHEN mod({_h("c.number || ':ch'")}, 100) < 85 THEN 'counter'
        ELSE 'hotline'
    END,
    NULL,
    LEAST(c.completed_at + (mod({_h("c.number || ':at'")}, 4320)) * interval '1 minute', %(now)s)
FROM cases_case c
CROSS JOIN LATERAL (
    SELECT '' AS step, NULL::bigint AS item_id, '' AS department
    UNION ALL
    SELECT CASE WHEN i.newborn = 0 THEN i.item ELSE i.item || '-' || (i.newborn + 1) END,
        i.id, i.department
    FROM workflow_caseitem i
    WHERE i.case_id = c.id AND i.state = 'done'
        AND mod({_h("c.number || ':' || i.item || ':' || i.newborn")}, 100) < 40
) s
WHERE c.id > %(lo)s AND c.id <= %(hi)s AND c.status = 'completed'
    AND c.completed_at IS NOT NULL AND c.completed_at <= %(now)s
    AND mod({_h("c.number || ':rated'")}, 100) < %(share)s
ON CONFLICT (case_id, step) DO NOTHING
"""

_FOLLOW_UPS_SQL = f"""
INSERT INTO ratings_followup
    (rating_id, case_id, department, jurisdiction_kind, jurisdiction_code, division, status,
     round, opened_at, due_at, due_provisional, replied_at, closed_at, closed_how, version)
SELECT r.id, r.case_id, r.department, COALESCE(i.jurisdiction_kind, ''),
    COALESCE(i.jurisdiction_code, ''), COALESCE(NULLIF(i.division, ''), c.division),
    st.status, 1, r.at, r.at + interval '7 days', false,
    CASE WHEN st.status IN ('replied', 'closed')
        THEN LEAST(r.at + interval '3 days', %(now)s) END,
    CASE WHEN st.status = 'closed' THEN LEAST(r.at + interval '5 days', %(now)s) END,
    CASE WHEN st.status <> 'closed' THEN ''
        WHEN mod({_h("r.id::text || ':how'")}, 100) < 20 THEN 'silence'
        ELSE 'confirmed' END,
    1
FROM ratings_rating r
JOIN cases_case c ON c.id = r.case_id
LEFT JOIN workflow_caseitem i ON i.id = r.item_id
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN r.at > %(now)s - interval '3 days' THEN 'open'
        WHEN r.at > %(now)s - interval '10 days' THEN
            CASE WHEN mod({_h("r.id::text || ':st'")}, 100) < 50 THEN 'replied' ELSE 'open' END
        WHEN mod({_h("r.id::text || ':st'")}, 100) < 88 THEN 'closed'
        WHEN mod({_h("r.id::text || ':st'")}, 100) < 94 THEN 'replied'
        ELSE 'open'
    END AS status
) st
WHERE r.case_id > %(lo)s AND r.case_id <= %(hi)s AND r.grade <= 2
ON CONFLICT (rating_id) DO NOTHING
"""

_ENTRIES_SQL = """
INSERT INTO ratings_followupentry (follow_up_id, kind, text, actor_id, actor_label, at)
SELECT f.id, e.kind, %(empty)s, NULL, e.label, e.at
FROM ratings_followup f
CROSS JOIN LATERAL (
    SELECT 'opened' AS kind, '系统' AS label, f.opened_at AS at
    UNION ALL SELECT 'reply', '责任单位', f.replied_at WHERE f.replied_at IS NOT NULL
    UNION ALL SELECT CASE f.closed_how WHEN 'silence' THEN 'closed_silence' ELSE 'confirmed' END,
        CASE f.closed_how WHEN 'silence' THEN '系统' ELSE '申请人' END, f.closed_at
        WHERE f.status = 'closed'
) e
WHERE f.case_id > %(lo)s AND f.case_id <= %(hi)s
    AND NOT EXISTS (SELECT 1 FROM ratings_followupentry x WHERE x.follow_up_id = f.id)
"""

# Every day from the first rating to yesterday is marked for the roll-up job to (re)do: the
# generated rows went into past days, maybe days already rolled up, and a day with no
# rating gets its (empty) marker too, so the dashboards read no day from the rows.
_STALE_DAYS_SQL = """
INSERT INTO ratings_ratingday
    (day, division, department, whole, channel, grade, stale, ratings, follow_ups_open,
     follow_ups_replied, follow_ups_closed, follow_ups_closed_silent)
SELECT d::date, '', '', false, '', 0, true, 0, 0, 0, 0, 0
FROM generate_series(
    (SELECT min((r.at AT TIME ZONE 'Asia/Shanghai')::date) FROM ratings_rating r),
    (%(now)s AT TIME ZONE 'Asia/Shanghai')::date - 1,
    interval '1 day'
) AS d
ON CONFLICT (day, division, department, whole, channel, grade) DO UPDATE SET stale = true
"""


def generate_ratings(
    conn: Any,
    *,
    now: datetime | None = None,
    share: int = RATINGS_SHARE,
    chunk: int = RATINGS_CHUNK,
    commit: bool = True,
    out: Any = None,
) -> dict[str, int]:
    """Ratings (好差评) for a deterministic ``share`` percent of the completed cases, in
    set-based SQL (INSERT … SELECT), chunk by chunk of case ids, each chunk one transaction
    that also records how far it got (table ``onestop_genratings``): idempotent (a rating
    per case and step at most: ON CONFLICT DO NOTHING), resumable, and runnable on a
    database generated before (``onestop gen-cases --ratings-only``).

    Per rated case: the whole service and about 40 % of its done steps; one channel per
    case (online 55 %, counter 30 %, 12345 hotline 15 %); grades mostly 5 and 4, 8 % 3,
    3 % bad (1.2 % 非常不满意, 1.8 % 不满意); the time up to three days after completion.
    Each bad rating has its follow-up (older than ten days: 88 % closed, a fifth of them
    after the parent's silence; 6 % replied; 6 % open, so overdue) with its entries.
    Comments and entry texts are empty (one ciphertext of "", as the product stores an
    empty comment). No audit records are written for them. Every day from the first
    rating to yesterday is then marked stale in ``RatingDay``, so the job
    ``ratings_rollup`` rolls it up (a day without ratings gets its empty marker)."""
    from onestop.common.fields import cipher

    now = now or datetime.now(UTC).replace(microsecond=0)
    empty = cipher().encrypt("")
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {RATINGS_STATE_TABLE}"
            " (id int PRIMARY KEY, last_case_id bigint, finished boolean)"
        )
        cur.execute(
            f"INSERT INTO {RATINGS_STATE_TABLE} VALUES (1, 0, false) ON CONFLICT (id) DO NOTHING"
        )
        cur.execute(f"SELECT last_case_id, finished FROM {RATINGS_STATE_TABLE} WHERE id = 1")
        last, finished = cur.fetchone()
        cur.execute("SELECT COALESCE(max(id), 0) FROM cases_case")
        top = cur.fetchone()[0]
    if commit:
        conn.commit()
    made = {"ratings": 0, "follow_ups": 0, "entries": 0}
    lo = int(last)
    while lo < top:
        hi = min(lo + chunk, top)
        params = {"lo": lo, "hi": hi, "now": now, "share": share, "empty": empty}
        with conn.cursor() as cur:
            cur.execute(_RATINGS_SQL, params)
            made["ratings"] += max(cur.rowcount, 0)
            cur.execute(_FOLLOW_UPS_SQL, params)
            made["follow_ups"] += max(cur.rowcount, 0)
            cur.execute(_ENTRIES_SQL, params)
            made["entries"] += max(cur.rowcount, 0)
            cur.execute(
                f"UPDATE {RATINGS_STATE_TABLE} SET last_case_id = %s, finished = false"
                " WHERE id = 1",
                (hi,),
            )
        if commit:
            conn.commit()
        lo = hi
        if out is not None:
            out.write(f"gen-cases: ratings up to case id {hi:,}/{top:,}: {made}\n")
            out.flush()
    if lo > int(last) or not finished:
        with conn.cursor() as cur:
            cur.execute(_STALE_DAYS_SQL, {"now": now})
            made["stale_days"] = max(cur.rowcount, 0)
            cur.execute(f"UPDATE {RATINGS_STATE_TABLE} SET finished = true WHERE id = 1")
        if commit:
            conn.commit()
    return made
