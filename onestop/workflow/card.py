"""The social security card (社会保障卡申领; issue 11 promise 4; docs/adr/0037).

The parents chose the bank and the branch (领卡网点) on the form, from the region's
co-operating branches (reference data), and how the card reaches them (pickup at the
branch, or post where the pack offers it). The HR department (人社) reports how far the
card has come through its workbench or the API: 制卡中, 已制卡, then 已送达网点 (pickup) or
已寄出 (post), which completes the item with the card number. The parents see each status
on their progress page and are told by message; the last one is the pickup notice naming
the branch and what to bring (代领人本人身份证 + 新生儿户口簿) with the reminder that the
card's financial function is activated at the bank.

Seeds: 002 (3) 完成社会保障卡申领后,申请人到选定的领卡网点自行领取社会保障卡; (2) 推送社会保障卡
申领受理办结进度; 003 (五) 制作新生儿社会保障卡，并将结果反馈给服务平台。服务平台将办理结果通过
短信或推送消息等方式发送给申请人，并告知金融功能需到发卡银行营业网点办理激活.

Each write is one transaction holding the change, its audit record and its events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from onestop.accounts.models import User, actor_label
from onestop.audit.services import audit_record
from onestop.cases.claims import SSC_ITEM as SSC_ITEM
from onestop.cases.claims import ssc_claims_issue
from onestop.cases.models import Case
from onestop.common.compiled import CompiledFirst, CompiledInsert, CompiledUpdate
from onestop.core.errors import OnestopError
from onestop.core.events import emit
from onestop.reference.selectors import bank_branch
from onestop.workflow import events as ev
from onestop.workflow.models import CardProduction, CardStatus, CaseItem, ItemState
from onestop.workflow.services import _check, _lock, item_complete_locked

# The order a card goes through; the last step is at the branch or in the post.
ORDER = {
    CardStatus.APPLIED: 0,
    CardStatus.IN_PRODUCTION: 1,
    CardStatus.MADE: 2,
    CardStatus.AT_BRANCH: 3,
    CardStatus.MAILED: 3,
}
# What the HR department may report (workbench and API).
REPORTABLE = (CardStatus.IN_PRODUCTION, CardStatus.MADE, CardStatus.AT_BRANCH, CardStatus.MAILED)
FINAL = (CardStatus.AT_BRANCH, CardStatus.MAILED)
# The card record's INSERT (every card item's dispatch), built once per process (issue 10);
# ``save_new`` writes what ``objects.create`` wrote.
_CARD_INSERT: CompiledInsert[CardProduction] = CompiledInsert(CardProduction)
# A completion's status of the card, written by a statement made once per process (issue
# 10, session 28, h-elicence: ``save(update_fields=…)`` had Django build it each time).
_CARD_UPDATE: CompiledUpdate[CardProduction] = CompiledUpdate(CardProduction)
# The card item's record (its completion and its task's detail read it), compiled once per
# process (issue 10).
CARD_OF: CompiledFirst[CardProduction] = CompiledFirst(
    CardProduction,
    lambda item_id: CardProduction.objects.filter(item_id=item_id),
    -7_340_029_411,
)
STATUS_WORDS: Mapping[str, str] = {value: str(label) for value, label in CardStatus.choices}


class CardStatusRefused(OnestopError):
    code = "card_status_invalid"


def _chosen(case: Case) -> tuple[str, str, str, str, str, str]:
    """(bank, branch code, name, address, opening hours, method) as the parents chose."""
    form = case.typed_document()
    section = form.social_security_card
    bank = (section.bank if section is not None else None) or ""
    written = (section.branch if section is not None else None) or ""
    found = bank_branch(written)
    choice = form.delivery.choice(SSC_ITEM) if form.delivery is not None else None
    method = "mail" if choice is not None and choice.method == "mail" else "pickup"
    if found is not None:
        return found.bank or bank, found.code, found.name, found.address, found.office_hours, method
    return bank, "", written, "", "", method  # a branch written as text is taken as written


def card_of(case: Case, row: CaseItem, now: datetime, *, new: bool = False) -> CardProduction:
    """The card record of a card item, made on first use from the parents' choices.
    ``new``: the caller knows there is none yet (the item was just dispatched), so it is
    not asked for."""
    if not new:
        existing = CARD_OF.first(row.pk)
        if existing is not None:
            return existing
    bank, code, name, address, hours, method = _chosen(case)
    card = CardProduction(
        case=case,
        item=row,
        bank=bank,
        branch_code=code,
        branch_name=name,
        branch_address=address,
        branch_hours=hours,
        method=method,
        history=[{"status": CardStatus.APPLIED.value, "at": now.isoformat()}],
        updated_at=now,
    )
    _CARD_INSERT.save_new(card)
    return card


def _set(
    case: Case, row: CaseItem, card: CardProduction, status: str, now: datetime, actor: User | None
) -> None:
    card.status = status
    card.history = [*card.history, {"status": status, "at": now.isoformat()}]
    card.updated_at = now
    card.save(update_fields=["status", "history", "updated_at"])
    if status in (CardStatus.MADE, *FINAL):
        ssc_claims_issue(case, row.newborn)  # a card made: the newborn cannot apply again
    audit_record(
        stream=case.number,
        at=now,
        actor=actor,
        actor_label=actor_label(actor),
        action="card_status_reported",
        object_type="social_security_card",
        object_id=row.key,  # twins: each baby's card (ADR 0036)
        detail={"status": status},
    )
    emit(
        ev.CardStatusReported(
            case=case,
            row=row,
            rows={row.key: row},
            at=now,
            state=row.state,
            version=row.version,
            actor=actor,
            card=card,
            status=status,
        )
    )


@transaction.atomic
def card_status_report(
    *,
    item_id: int,
    actor: User | None,
    status: str,
    card_number: str = "",
    now: datetime | None = None,
    expected_version: int | None = None,
    locked: Case | None = None,
) -> CardProduction:
    """The HR department reports how far the card has come. 制卡中 and 已制卡 are recorded
    and told to the parents; 已送达网点 (or 已寄出 where the parents chose post) completes the
    item with the card number, and the completion's notice tells where to collect it.
    A status may not go back; the final one must match the parents' choice of delivery."""
    now = now or timezone.now()
    if status not in REPORTABLE:
        words = "、".join(f"{s.value}（{s.label}）" for s in REPORTABLE)
        raise CardStatusRefused(f"未知的制卡状态“{status}”，应为：{words}")
    case, rows, row = _lock(item_id, locked=locked)
    if row.item != SSC_ITEM:
        raise CardStatusRefused("只有社会保障卡申领事项可以报告制卡状态")
    _check(actor, row, [ItemState.READY, ItemState.IN_PROGRESS], "报告制卡状态", expected_version)
    card = card_of(case, row, now)
    if ORDER[CardStatus(status)] <= ORDER[CardStatus(card.status)]:
        raise CardStatusRefused(
            f"制卡状态已是“{STATUS_WORDS[card.status]}”，不能再报告为“{STATUS_WORDS[status]}”"
        )
    if status in FINAL:
        wanted = CardStatus.MAILED if card.method == "mail" else CardStatus.AT_BRANCH
        if status != wanted:
            how = "邮寄" if card.method == "mail" else "到网点自取"
            raise CardStatusRefused(
                f"申请人选择了{how}，应报告为“{STATUS_WORDS[wanted]}”，不是“{STATUS_WORDS[status]}”"
            )
        result: dict[str, object] = {"card_number": card_number}
        if card.method == "pickup" and card.branch_name:
            result["pickup_place"] = card.branch_name
        # The completion records the final status (`card_on_completed`) and its notice says
        # where to collect the card.
        item_complete_locked(case, rows, row, actor=actor, result=result, now=now)
        card.refresh_from_db()
        return card
    _set(case, row, card, status, now, actor)
    return card


def card_on_dispatched(case: Case, row: CaseItem, now: datetime) -> None:
    """The card item reached the HR department: its record starts (已申领). An item is
    dispatched once (ready is never entered again: a resumed item is `ItemResumed`) and
    its record is made from then on only, so there is none yet: not asked for (issue 10
    part 2: one statement of the change that readies the card; were there one, the
    record's one-to-one link to the item refuses a second)."""
    card_of(case, row, now, new=True)


def card_on_completed(case: Case, row: CaseItem, now: datetime, actor: User | None) -> None:
    """The card item was completed (by a status report, the workbench's 办结 or the API's
    complete): the card is at the branch or in the post (in the completing transaction)."""
    card = card_of(case, row, now)
    final = CardStatus.MAILED if card.method == "mail" else CardStatus.AT_BRANCH
    if card.status == final:
        return
    # Part of the completion: its audit record, timeline line and notice say it (the
    # pickup or mailing notice), so no second record or message here.
    card.status = final
    card.history = [*card.history, {"status": final.value, "at": now.isoformat()}]
    card.updated_at = now
    _CARD_UPDATE.update([card], ["status", "history", "updated_at"])
    ssc_claims_issue(case, row.newborn)


def card_on_ended(case: Case, row: CaseItem, now: datetime) -> None:
    """The card item was refused or cancelled: no card, and the application lapses."""
    CardProduction.objects.filter(item=row).exclude(status__in=FINAL).update(
        status=CardStatus.CANCELLED, updated_at=now
    )
