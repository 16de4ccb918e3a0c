"""What a department must record when it completes an item (its result, later an e-licence).

Validation; the workbench form and the API both use it. Each field has one definition, in
the catalogue (``result_fields`` of an item in onestop/catalogue/data/items.yaml): its kind
says how it is checked (a resident ID number by GB 11643, issue 8 defect 6: "a newborn's
citizen ID number with a wrong check digit was accepted and printed on an e-licence"), its
pattern and length bound what is stored (issue 8 defect 8: "every
field has size limits"). A result is a department's record with a published field list
(``result_fields`` of the task), so an unknown key is refused, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from onestop.catalogue.names import CatalogueView
from onestop.catalogue.schema import RESULT_TEXT_MAX, ResultField, ResultKind
from onestop.core.clock import format_time, parse_time
from onestop.core.text import text_problem
from onestop.reference.idnumber import InvalidIdNumber, parse_resident_id

# Free text of a result (a pickup place, a visit arrangement: RESULT_TEXT_MAX) and of the
# reasons given when an item is returned or refused.
__all__ = ["RESULT_TEXT_MAX", "ResultField", "ResultKind"]
REASON_TEXT_MAX = 500
REASONS_MAX = 20
RESULT_KEYS_MAX = 20


@dataclass(frozen=True)
class NewbornFacts:
    """What the case says about one newborn, to check a citizen ID number issued to it."""

    born_on: date | None
    sex: str | None


# Each item's result fields are the catalogue's (onestop/catalogue/data/items.yaml).
RESULT_FIELDS: Mapping[str, tuple[ResultField, ...]] = CatalogueView(
    lambda c: {code: tuple(item.result_fields) for code, item in c.items.items()}
)


@dataclass(frozen=True)
class ResultProblem:
    field: str
    message: str
    code: str = "result_invalid"


def _id_problem(
    spec: ResultField, value: str, newborns: Sequence[NewbornFacts], today: date | None
) -> str | None:
    """Why a citizen ID number cannot be the newborn's: GB 11643 (division, birth date, check
    digit), and the birth date and sex it encodes against the case's newborns."""
    try:
        parsed = parse_resident_id(value, today=today)
    except InvalidIdNumber as exc:
        return f"{spec.label}：{exc.message}"
    born = [n for n in newborns if n.born_on is not None]
    if born and not any(n.born_on == parsed.birth_date for n in born):
        days = "、".join(sorted({f"{n.born_on:%Y年%m月%d日}" for n in born if n.born_on}))
        return (
            f"{spec.label}中的出生日期（{parsed.birth_date:%Y年%m月%d日}）"
            f"与新生儿的出生日期（{days}）不一致，请核对"
        )
    same_day = [n for n in born if n.born_on == parsed.birth_date and n.sex in ("1", "2")]
    if same_day and not any(n.sex == parsed.sex for n in same_day):
        return f"{spec.label}的第17位（性别）与新生儿的性别不一致，请核对"
    return None


def validate_result(
    item: str,
    data: Mapping[str, object],
    *,
    newborns: Sequence[NewbornFacts] = (),
    today: date | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, str], list[ResultProblem]]:
    """The cleaned result (strings, trimmed) and its problems, each with a stable code:
    ``unknown_field``, ``required``, ``field_too_long``, ``invalid_text``,
    ``invalid_id_number``, ``time_in_future`` (a time after ``now``) or ``result_invalid``
    (format). A time is stored as ISO 8601 in Beijing time."""
    cleaned: dict[str, str] = {}
    problems: list[ResultProblem] = []
    specs = RESULT_FIELDS.get(item, ())
    known = {spec.name for spec in specs}
    unknown = [key for key in data if key not in known]
    for key in unknown[:RESULT_KEYS_MAX]:
        shown = key if isinstance(key, str) and text_problem(key) is None else "?"
        problems.append(
            ResultProblem(
                shown[:40],
                f"未知的结果字段“{shown[:40]}”，本事项可填写："
                + ("、".join(f"{s.name}（{s.label}）" for s in specs) or "无"),
                "unknown_field",
            )
        )
    for spec in specs:
        raw = data.get(spec.name)
        value = "" if raw is None else str(raw).strip()
        if not value:
            if spec.required:
                problems.append(ResultProblem(spec.name, f"必须填写{spec.label}", "required"))
            continue
        if (why := text_problem(value)) is not None:
            problems.append(ResultProblem(spec.name, f"{spec.label}{why}", "invalid_text"))
            continue
        if len(value) > spec.max_length:
            problems.append(
                ResultProblem(
                    spec.name,
                    f"{spec.label}过长：最多{spec.max_length}个字符，当前{len(value)}个",
                    "field_too_long",
                )
            )
            continue
        if spec.kind == "id_number":
            value = value.upper()
            if (why := _id_problem(spec, value, newborns, today)) is not None:
                problems.append(ResultProblem(spec.name, why, "invalid_id_number"))
                continue
        elif spec.kind == "datetime":
            try:
                moment = parse_time(value)
            except ValueError:
                hint = f"，例如 {spec.example}" if spec.example else ""
                problems.append(ResultProblem(spec.name, f"{spec.label}格式不正确{hint}"))
                continue
            if now is not None and moment > now:
                problems.append(
                    ResultProblem(
                        spec.name, f"{spec.label}不能晚于当前时间（{value}）", "time_in_future"
                    )
                )
                continue
            value = format_time(moment)
        elif spec.pattern and not re.fullmatch(spec.pattern, value):
            hint = f"，例如 {spec.example}" if spec.example else ""
            problems.append(ResultProblem(spec.name, f"{spec.label}格式不正确{hint}"))
            continue
        cleaned[spec.name] = value
    return cleaned, problems


_SPECIFIC_CODES = frozenset(
    {
        "invalid_id_number",
        "unknown_field",
        "field_too_long",
        "invalid_text",
        "list_too_long",
        "time_in_future",
        "payment_amount_mismatch",
    }
)


def problems_code(problems: Sequence[ResultProblem]) -> str:
    """One stable code for a refused result: the problems' common code where it is one of
    the specific ones (``invalid_id_number``…), else ``result_invalid``."""
    codes = {p.code for p in problems}
    if len(codes) == 1 and (code := next(iter(codes))) in _SPECIFIC_CODES:
        return code
    return "result_invalid"


def clean_reasons(reasons: Sequence[str], missing: str) -> tuple[list[str], list[ResultProblem]]:
    """The reasons for returning or refusing an item, trimmed, and what is wrong with them:
    at most ``REASONS_MAX`` of at most ``REASON_TEXT_MAX`` characters each, storable text."""
    cleaned = [r.strip() for r in reasons if isinstance(r, str) and r.strip()]
    if not cleaned:
        return [], [ResultProblem("reasons", missing, "required")]
    problems: list[ResultProblem] = []
    if len(cleaned) > REASONS_MAX:
        problems.append(
            ResultProblem(
                "reasons",
                f"原因最多{REASONS_MAX}条，当前{len(cleaned)}条",
                "list_too_long",
            )
        )
    for index, reason in enumerate(cleaned[:REASONS_MAX]):
        if (why := text_problem(reason)) is not None:
            problems.append(
                ResultProblem(f"reasons[{index}]", f"第{index + 1}条原因{why}", "invalid_text")
            )
        elif len(reason) > REASON_TEXT_MAX:
            problems.append(
                ResultProblem(
                    f"reasons[{index}]",
                    f"第{index + 1}条原因过长：最多{REASON_TEXT_MAX}个字符，当前{len(reason)}个",
                    "field_too_long",
                )
            )
    return cleaned, problems
