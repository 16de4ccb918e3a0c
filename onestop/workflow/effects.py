"""The effects of the item events and of a case's acceptance and completion: timeline
lines, the parents' messages, and the state changes events lead to (an accepted case's
items are created and dispatched; 免申即享 and 秒批 complete a just-dispatched item; the
case closes when its last item finishes). Registered with the one handler table
(``onestop.core.events``) when the workflow app starts.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from onestop.calendar.events import CalendarYearPublished
from onestop.calendar.selectors import PROVISIONAL_MARK, current_calendar, due_text
from onestop.cases.claims import ssc_claims_release
from onestop.cases.effects import parent_phones, parents_message, timeline_add
from onestop.cases.events import CaseDecided, CaseSupplemented
from onestop.cases.services import CaseStateError
from onestop.core.clock import to_beijing
from onestop.core.errors import CalendarNotCovered
from onestop.core.events import Phase, effects
from onestop.core.written import written
from onestop.eligibility.confirmations import SIDE_NAMES
from onestop.eligibility.reasons import DEPARTMENT_NAMES, ITEM_NAMES, Outcome
from onestop.notifications.messages import message_text
from onestop.notifications.models import Notification
from onestop.notifications.services import notification_queue
from onestop.policy.schema import PAYMENT_ITEM
from onestop.workflow import card as ssc_card
from onestop.workflow import events as ev
from onestop.workflow import maternity, payment
from onestop.workflow.confirmations import confirmation_request
from onestop.workflow.domain import delivery
from onestop.workflow.instant import instant_check, instant_rule
from onestop.workflow.models import ItemState
from onestop.workflow.preview import DOCUMENT_TITLES, preview_hold, preview_item
from onestop.workflow.same_visit import same_visit_rule
from onestop.workflow.selectors import (
    key_name,
    multiple_birth,
    newborn_word,
    ordinary_channels_of,
    row_name,
)
from onestop.workflow.services import (
    case_finish_if_done,
    first_pickup_day,
    instant_declined,
    item_complete_automatically,
    items_create,
    items_insert,
    items_resume,
    items_start,
    pickup_place,
    provisional_dues_recompute,
)


def _multiple(event: ev.ItemEvent) -> bool:
    return multiple_birth(event.case, event.rows.values())


def _name(event: ev.ItemEvent) -> str:
    """The item's name; in a case of twins or more, with the baby it is for (ADR 0036)."""
    return row_name(event.row, _multiple(event))


def _department(event: ev.ItemEvent) -> str:
    return DEPARTMENT_NAMES.get(event.row.department, event.row.department)


def _line(event: ev.ItemEvent, kind: str, message: str, *, parent: bool = True) -> None:
    timeline_add(
        event.case,
        event.at,
        kind,
        message,
        item=event.row.item,
        actor=event.actor,
        parent=parent,
    )


# --- what a case's decision and supplement start --------------------------------------------


@effects.register(CaseDecided, phase=Phase.FOLLOW, effect="accepted: create and dispatch items")
def accepted_items_start(event: CaseDecided) -> None:
    if event.decision.outcome is not Outcome.ACCEPT:
        return
    case, needed = event.case, event.decision.confirmation
    rows = items_create(case, event.decision, event.offices, now=event.at, write=False)
    confirming = needed is not None and any(code in rows for code in needed.items)
    if not confirming and preview_item(case, rows) is None:
        # Nothing holds an item (the common case): the rows are inserted as they start, in
        # one INSERT, not inserted waiting and the readied ones updated (session 28).
        items_start(case, rows, now=event.at, actor=None, insert=True)
        return
    items_insert(rows)  # the holds below write to the rows
    if confirming:
        assert needed is not None
        confirmation_request(case, rows, needed, now=event.at)  # ADR 0029
    preview_hold(case, rows, now=event.at)  # ADR 0035 (pack: preview_before_issue)
    items_start(case, rows, now=event.at, actor=None)


@effects.register(CaseSupplemented, phase=Phase.FOLLOW, effect="returned items resume")
def returned_items_resume(event: CaseSupplemented) -> None:
    if not event.items_waiting:
        return
    if not items_resume(event.case, actor=event.actor, now=event.at):
        raise CaseStateError("该办件没有待补正的事项")


# --- timeline --------------------------------------------------------------------------------


@effects.register(
    ev.ItemDueProvisional, phase=Phase.RECORD, effect="staff timeline: 暂按双休日计算"
)
def due_provisional_timeline(event: ev.ItemDueProvisional) -> None:
    missing = CalendarNotCovered(event.last_year + 1, event.first_year, event.last_year)
    message = f"{missing.message}；办理期限{PROVISIONAL_MARK}，发布后自动重新计算"
    timeline_add(
        event.case, event.at, "calendar_missing", message, item=event.row.item, parent=False
    )


@effects.register(ev.ItemBecameReady, phase=Phase.RECORD, effect="timeline: 已推送至…办理")
def ready_timeline(event: ev.ItemBecameReady) -> None:
    row = event.row
    due = f"，办理期限 {due_text(row.due_at, row.due_provisional)}" if row.due_at else ""
    timeline_add(
        event.case,
        event.at,
        "item_ready",
        f"{_name(event)}已推送至{_department(event)}办理{due}",
        item=row.item,
    )


@effects.register(ev.ItemClaimed, phase=Phase.RECORD, effect="timeline: 已开始办理")
def claimed_timeline(event: ev.ItemClaimed) -> None:
    _line(event, "item_claimed", f"{_department(event)}已开始办理{_name(event)}")


@effects.register(ev.ItemCompleted, phase=Phase.RECORD, effect="timeline: (自动办结理由) 已办结")
def completed_timeline(event: ev.ItemCompleted) -> None:
    if event.automatic_reason:
        timeline_add(event.case, event.at, "automatic", event.automatic_reason, item=event.row.item)
    where = "已在受理窗口当场办结" if event.same_visit else "已办结"
    _line(event, "item_done", f"{_name(event)}{where}")


@effects.register(ev.ItemReturned, phase=Phase.RECORD, effect="timeline: 需要补正")
def returned_timeline(event: ev.ItemReturned) -> None:
    _line(event, "item_returned", f"{_name(event)}需要补正：{'；'.join(event.reasons)}")


@effects.register(ev.ItemResumed, phase=Phase.RECORD, effect="timeline: 已补正，恢复办理")
def resumed_timeline(event: ev.ItemResumed) -> None:
    _line(event, "item_resumed", f"已补正，{_name(event)}恢复办理")


@effects.register(ev.ItemRefused, phase=Phase.RECORD, effect="timeline: 不予办理")
def refused_timeline(event: ev.ItemRefused) -> None:
    _line(event, "item_refused", f"{_name(event)}不予办理：{'；'.join(event.reasons)}")


@effects.register(ev.ItemCancelled, phase=Phase.RECORD, effect="timeline: 已取消")
def cancelled_timeline(event: ev.ItemCancelled) -> None:
    cause = key_name(event.because, _multiple(event))
    timeline_add(
        event.case,
        event.at,
        "item_cancelled",
        f"因{cause}不予办理，{_name(event)}已取消",
        item=event.row.item,
    )


@effects.register(ev.ItemInstantDeclined, phase=Phase.RECORD, effect="staff timeline: 未能秒批")
def instant_declined_timeline(event: ev.ItemInstantDeclined) -> None:
    note = f"{_name(event)}未能秒批：{event.reason}，转{_department(event)}人工办理"
    _line(event, "instant_declined", note, parent=False)


@effects.register(ev.ItemDueRecomputed, phase=Phase.RECORD, effect="timeline: 办理期限重新计算")
def due_recomputed_timeline(event: ev.ItemDueRecomputed) -> None:
    if event.provisional:
        line = f"{_name(event)}办理期限已重新计算为 {event.due_text}"
    else:
        line = f"{_name(event)}办理期限已按正式节假日安排确定为 {event.due_text}"
    _line(event, "due_recomputed", line)


@effects.register(ev.CaseCompleted, phase=Phase.RECORD, effect="timeline: 办结结果")
def case_completed_timeline(event: ev.CaseCompleted) -> None:
    timeline_add(event.case, event.at, "case_completed", event.notice.timeline)


# --- messages to the parents ----------------------------------------------------------------


@effects.register(ev.ItemReturned, phase=Phase.MESSAGE, effect="SMS + in-app: 需要补正")
def returned_message(event: ev.ItemReturned) -> None:
    case = event.case
    parents_message(
        case,
        key=f"case:{case.number}:{event.row.key}:returned:{event.version - 1}",
        at=event.at,
        template="item_returned",
        context={"item": _name(event), "reasons": "；".join(event.reasons)},
    )


@effects.register(ev.ItemRefused, phase=Phase.MESSAGE, effect="SMS + in-app: 不予办理, 原渠道")
def refused_message(event: ev.ItemRefused) -> None:
    case = event.case
    channels = ordinary_channels_of(case, [event.row.item, *event.cancelled])
    parents_message(
        case,
        key=f"case:{case.number}:{event.row.key}:refused",
        at=event.at,
        template="item_refused",
        context={
            "item": _name(event),
            "reasons": "；".join(event.reasons),
            "channels": "；".join(channels),
        },
    )


@effects.register(
    ev.ItemCompleted, phase=Phase.MESSAGE, effect="SMS + in-app (+ timeline): 已办结, 领取/邮寄"
)
def completed_message(event: ev.ItemCompleted) -> None:
    """Tell the parents the item is done; for a physical result, where and when to collect
    it (or that it was posted), by SMS and in-app message, and on the timeline."""
    case, row, now = event.case, event.row, event.at
    if row.item == PAYMENT_ITEM and payment.completed_notice(row) is not None:
        return  # the payment's own confirmation message says it (payment_confirmed_message)
    name = _name(event)
    key = f"case:{case.number}:{row.key}:done"
    if row.item == maternity.MATERNITY_ITEM:
        # How much went where (issue 11 promise 5), the account masked to its last digits.
        words = maternity.payment_words(case, row.result)
        if words is not None:
            template = "maternity_paid"
            parents_message(case, key=key, at=now, template=template, context=words)
            return
    result = delivery.result_of(row.item)
    if result is None or event.same_visit:
        # 当场办理: the result is handed over at the counter (`handed_over_message`), not
        # collected later or posted.
        parents_message(case, key=key, at=now, template="item_completed", context={"item": name})
        return
    phones = parent_phones(case)
    form = case.typed_document()
    choices = form.delivery
    choice = getattr(choices, result, None) if choices is not None else None
    if choice is not None and choice.method == "mail":
        assert choices is not None
        address = choices.address.model_dump() if choices.address is not None else None
        notice = delivery.mail_notice(
            case_number=case.number, item_name=name, result=result, address=address
        )
        kind = "result_mailed"
    else:
        by = choice.by if choice is not None else None
        from_day = first_pickup_day(current_calendar(), now)
        if same_visit_rule(case, row.item) is not None:
            from_day = to_beijing(now).date()  # 当场打印领取: at the counter, today
        notice = delivery.pickup_notice(
            case_number=case.number,
            item_name=name,
            result=result,
            place=pickup_place(case, row, result),
            from_day=from_day,
            by=by,
        )
        kind = "pickup_notice"
        father = form.father.phone if form.father is not None else None
        if by == "father" and father:
            phones = [*phones, father]
    timeline_add(case, now, kind, notice.timeline, item=row.item)
    parents_message(case, key=key, at=now, body=notice.sms, phones=phones)


@effects.register(ev.ResultHandedOver, phase=Phase.RECORD, effect="timeline: 已当场交付")
def handed_over_timeline(event: ev.ResultHandedOver) -> None:
    _line(
        event,
        "result_handed_over",
        f"{event.result_name}已在{event.counter_name}当场交付（领取人：{event.recipient_label}）",
    )


@effects.register(ev.ResultHandedOver, phase=Phase.MESSAGE, effect="SMS + in-app: 已当场领取")
def handed_over_message(event: ev.ResultHandedOver) -> None:
    case = event.case
    parents_message(
        case,
        key=f"case:{case.number}:{event.row.key}:handed_over",
        at=event.at,
        template="result_handed_over",
        context={
            "result": event.result_name,
            "counter": event.counter_name,
            "recipient": event.recipient_label,
        },
    )


@effects.register(ev.CaseCompleted, phase=Phase.MESSAGE, effect="SMS + in-app: 办结结果, 原渠道")
def case_completed_message(event: ev.CaseCompleted) -> None:
    case = event.case
    parents_message(case, key=f"case:{case.number}:completed", at=event.at, body=event.notice.sms)


# --- the medical-insurance payment notice (docs/adr/0031) -----------------------------------


@effects.register(ev.ItemBecameReady, phase=Phase.FOLLOW, effect="payment notice issued (缴费通知)")
def payment_notice_on_ready(event: ev.ItemBecameReady) -> None:
    if event.row.item == PAYMENT_ITEM and event.row.state == ItemState.READY:
        payment.notice_issue(event.case, event.row, now=event.at)


@effects.register(ev.ItemCompleted, phase=Phase.FOLLOW, effect="payment notice paid")
def payment_notice_on_completed(event: ev.ItemCompleted) -> None:
    if event.row.item == PAYMENT_ITEM:
        payment.notice_paid(event.case, event.row, now=event.at, actor=event.actor)


@effects.register(ev.ItemRefused, phase=Phase.FOLLOW, effect="payment notice cancelled")
def payment_notice_on_refused(event: ev.ItemRefused) -> None:
    if event.row.item == PAYMENT_ITEM:
        payment.notice_cancel(event.row)


@effects.register(ev.ItemCancelled, phase=Phase.FOLLOW, effect="payment notice cancelled")
def payment_notice_on_cancelled(event: ev.ItemCancelled) -> None:
    if event.row.item == PAYMENT_ITEM:
        payment.notice_cancel(event.row)


@effects.register(ev.PaymentNoticeIssued, phase=Phase.RECORD, effect="timeline: 医保缴费通知")
def payment_notice_timeline(event: ev.PaymentNoticeIssued) -> None:
    w = payment.notice_words(event.notice)
    deadline = f"缴费期限：{w['deadline']}" if w["deadline"] else ""
    _line(
        event,
        "payment_notice",
        f"医保缴费通知：请缴纳{w['year']}年度城乡居民医保费{w['amount']}；{deadline}；"
        f"缴费渠道：{w['channels']}",
    )


def _payment(event: ev.ItemEvent) -> str:
    """The payment's part of a message key: one payment per newborn of twins (ADR 0036)."""
    return "payment" if event.row.newborn == 0 else f"payment-{event.row.newborn + 1}"


@effects.register(ev.PaymentNoticeIssued, phase=Phase.MESSAGE, effect="SMS + in-app: 缴费通知")
def payment_notice_message(event: ev.PaymentNoticeIssued) -> None:
    case = event.case
    parents_message(
        case,
        key=f"case:{case.number}:{_payment(event)}:notice",
        at=event.at,
        template="payment_notice",
        context=payment.notice_words(event.notice),
    )


@effects.register(ev.PaymentReminded, phase=Phase.RECORD, effect="timeline: 缴费提醒")
def payment_reminded_timeline(event: ev.PaymentReminded) -> None:
    w = payment.notice_words(event.notice)
    _line(event, "payment_reminded", f"已提醒缴纳城乡居民医保费，缴费期限{w['deadline']}")


@effects.register(ev.PaymentReminded, phase=Phase.MESSAGE, effect="SMS + in-app: 缴费提醒")
def payment_reminded_message(event: ev.PaymentReminded) -> None:
    case = event.case
    parents_message(
        case,
        key=f"case:{case.number}:{_payment(event)}:reminder:{event.days_before}",
        at=event.at,
        template="payment_reminder",
        context={**payment.notice_words(event.notice), "days": event.days_before},
    )


@effects.register(ev.PaymentOverdue, phase=Phase.RECORD, effect="timeline: 逾期未缴费")
def payment_overdue_timeline(event: ev.PaymentOverdue) -> None:
    w = payment.notice_words(event.notice)
    _line(event, "payment_overdue", f"城乡居民医保费已超过缴费期限（{w['deadline']}）仍未缴纳")


@effects.register(ev.PaymentOverdue, phase=Phase.MESSAGE, effect="SMS + in-app: 逾期未缴费")
def payment_overdue_message(event: ev.PaymentOverdue) -> None:
    case = event.case
    parents_message(
        case,
        key=f"case:{case.number}:{_payment(event)}:overdue",
        at=event.at,
        template="payment_overdue",
        context=payment.notice_words(event.notice),
    )


@effects.register(
    ev.PaymentConfirmed, phase=Phase.RECORD, effect="timeline: 已确认缴费 (+ 激活医保码)"
)
def payment_confirmed_timeline(event: ev.PaymentConfirmed) -> None:
    w = payment.notice_words(event.notice)
    _line(
        event,
        "payment_confirmed",
        f"税务部门已确认缴费：{w['paid_amount']}，缴费时间 {w['paid_at']}，凭证号 {w['reference']}",
    )
    if w["activation"]:
        _line(event, "activation_needed", f"请通过{w['where']}{w['activation']}，完成后在本页标记")


@effects.register(ev.PaymentConfirmed, phase=Phase.MESSAGE, effect="SMS + in-app: 缴费已确认")
def payment_confirmed_message(event: ev.PaymentConfirmed) -> None:
    case = event.case
    parents_message(
        case,
        key=f"case:{case.number}:{event.row.key}:done",
        at=event.at,
        template="payment_confirmed",
        context=payment.notice_words(event.notice),
    )


@effects.register(ev.InsuranceCodeActivated, phase=Phase.RECORD, effect="timeline: 医保码已激活")
def insurance_code_activated_timeline(event: ev.InsuranceCodeActivated) -> None:
    _line(event, "insurance_code_activated", f"新生儿{event.notice.activation_name}：已完成")


# --- the social security card (docs/adr/0037) ---------------------------------------------


@effects.register(ev.ItemBecameReady, phase=Phase.FOLLOW, effect="card record started (已申领)")
def card_on_ready(event: ev.ItemBecameReady) -> None:
    if event.row.item == ssc_card.SSC_ITEM:
        ssc_card.card_on_dispatched(event.case, event.row, event.at)


@effects.register(ev.ItemCompleted, phase=Phase.FOLLOW, effect="card at the branch / posted")
def card_on_completed(event: ev.ItemCompleted) -> None:
    if event.row.item == ssc_card.SSC_ITEM:
        ssc_card.card_on_completed(event.case, event.row, event.at, event.actor)


@effects.register(ev.ItemRefused, phase=Phase.FOLLOW, effect="card cancelled, application lapses")
def card_on_refused(event: ev.ItemRefused) -> None:
    if event.row.item == ssc_card.SSC_ITEM:
        ssc_card.card_on_ended(event.case, event.row, event.at)
        ssc_claims_release(event.case, event.at, event.row.newborn)  # that baby's (ADR 0036)


@effects.register(ev.ItemCancelled, phase=Phase.FOLLOW, effect="card cancelled, application lapses")
def card_on_cancelled(event: ev.ItemCancelled) -> None:
    if event.row.item == ssc_card.SSC_ITEM:
        ssc_card.card_on_ended(event.case, event.row, event.at)
        ssc_claims_release(event.case, event.at, event.row.newborn)  # that baby's (ADR 0036)


def _card_baby(event: ev.CardStatusReported) -> str:
    """（第二个孩子） for a card of twins (one card per baby, ADR 0036); "" otherwise."""
    word = newborn_word(event.row, _multiple(event))
    return f"（{word}）" if word else ""


@effects.register(ev.CardStatusReported, phase=Phase.RECORD, effect="timeline: 社会保障卡制卡进度")
def card_status_timeline(event: ev.CardStatusReported) -> None:
    status = ssc_card.STATUS_WORDS.get(event.status, event.status)
    _line(event, "card_status", f"社会保障卡{_card_baby(event)}{status}")


@effects.register(
    ev.CardStatusReported, phase=Phase.MESSAGE, effect="SMS + in-app: 制卡中 / 已制卡"
)
def card_status_message(event: ev.CardStatusReported) -> None:
    """制卡中 and 已制卡 are told as they happen; 已送达网点 / 已寄出 is the completion's
    pickup or mailing notice (`completed_message`)."""
    if event.status in ssc_card.FINAL:
        return
    case = event.case
    # Twins: each baby's card is told on its own (a single birth's key is unchanged).
    card = "card" if event.row.newborn == 0 else f"card-{event.row.newborn + 1}"
    status = ssc_card.STATUS_WORDS.get(event.status, event.status)
    parents_message(
        case,
        key=f"case:{case.number}:{card}:{event.status}",
        at=event.at,
        template="card_status",
        context={"status": f"{_card_baby(event)}{status}"},
    )


# --- automatic steps ------------------------------------------------------------------------


@effects.register(ev.ItemBecameReady, phase=Phase.FOLLOW, effect="免申即享 / 秒批 automatic step")
def automatic_step(event: ev.ItemBecameReady) -> None:
    """免申即享: an item the pack grants without application completes at once, from the
    data already shared (the hospital's delivery data), with the reason on the timeline.

    秒批: an item the pack approves straight through (``instant_approval``) is checked once,
    when it has just been dispatched; it completes without a human when the shared data
    verifies it, otherwise a staff-only note says why it stays with the officer."""
    case, row, rows = event.case, event.row, dict(event.rows)
    if row.state != ItemState.READY:
        return
    name = _name(event)
    if row.automatic:
        item_complete_automatically(
            case,
            rows,
            row,
            now=event.at,
            result={"granted": "免申即享", "basis": "助产机构分娩数据共享核验"},
            reason=f"{name}免申即享：依据助产机构分娩数据自动办结，无需申请",
            action="item_completed_automatically",
        )
        return
    rule = instant_rule(case, row.item)
    if rule is None:
        return
    verdict = instant_check(case, row.item, rule, row.newborn)
    if not verdict.approved:
        instant_declined(case, rows, row, now=event.at, reason=verdict.reason)
        return
    issued = "、".join(verdict.result.values())
    item_complete_automatically(
        case,
        rows,
        row,
        now=event.at,
        result=verdict.result,
        reason=f"{name}秒批：{verdict.reason}，自动签发（编号 {issued}）",
        action="item_completed_instantly",
        detail={"basis": rule.when},
    )


@effects.register(ev.ItemCompleted, phase=Phase.FOLLOW, effect="close the case if all finished")
def case_close_after_completion(event: ev.ItemCompleted) -> None:
    case_finish_if_done(event.case, event.rows, event.at)


@effects.register(ev.ItemRefused, phase=Phase.FOLLOW, effect="close the case if all finished")
def case_close_after_refusal(event: ev.ItemRefused) -> None:
    case_finish_if_done(event.case, event.rows, event.at)


@effects.register(
    CalendarYearPublished, phase=Phase.FOLLOW, effect="recompute provisional due times"
)
def provisional_dues_after_publishing(event: CalendarYearPublished) -> None:
    event.recomputed.append(
        provisional_dues_recompute(now=event.at, actor=event.actor, calendar=event.calendar)
    )


# --- the other parent's confirmation by SMS link (ADR 0029) --------------------------------


def _who(request: object) -> str:
    return SIDE_NAMES.get(getattr(request, "parent", ""), "")


def _waiting_names(request: object) -> str:
    return "、".join(ITEM_NAMES.get(code, code) for code in getattr(request, "items", []))


@effects.register(
    ev.ConfirmationRequested, phase=Phase.RECORD, effect="timeline: 等待父亲/母亲确认"
)
def confirmation_requested_timeline(event: ev.ConfirmationRequested) -> None:
    request = event.request
    until = written(request.expires_at)
    if event.reminder:
        line = f"已再次短信提醒{_who(request)}确认（新链接有效期至{until}）"
    else:
        line = (
            f"{_waiting_names(request)}须经{_who(request)}确认后办理：已向{_who(request)}"
            f"发送确认短信，链接有效期至{until}"
        )
    timeline_add(event.case, event.at, "confirmation_requested", line)


@effects.register(
    ev.ConfirmationRequested, phase=Phase.MESSAGE, effect="SMS to the other parent: 确认链接"
)
def confirmation_requested_message(event: ev.ConfirmationRequested) -> None:
    """The link goes by SMS only, to the phone the case gives for the asked parent; the
    body is encrypted in the outbox like every message (the token is not stored else)."""
    request, case = event.request, event.case
    parent = case.typed_document().parent(request.parent)
    if parent is None or not parent.phone:
        return
    link = settings.PUBLIC_BASE_URL + reverse("confirm_link", args=[event.token])
    body = message_text(
        "confirmation_reminder" if event.reminder else "confirmation_requested",
        {"who": _who(request), "items": _waiting_names(request),
         "until": written(request.expires_at), "link": link},
    )  # fmt: skip
    kind = "reminder" if event.reminder else "request"
    notification_queue(
        key=f"confirmation:{request.pk}:{kind}",
        phones=[parent.phone],
        body=body,
        at=event.at,
        case=case,
        channels=[Notification.Channel.SMS],
    )


@effects.register(ev.ConfirmationDecided, phase=Phase.RECORD, effect="timeline: 已确认/不同意/逾期")
def confirmation_decided_timeline(event: ev.ConfirmationDecided) -> None:
    request, who = event.request, _who(event.request)
    if event.outcome == "confirmed":
        line = f"{who}已确认（电子签名），{_waiting_names(request)}可以办理"
    elif event.outcome == "refused":
        line = f"{who}不同意：{request.reason}"
    else:
        line = f"{who}未在确认期限内确认，确认链接已失效"
    timeline_add(event.case, event.at, f"confirmation_{event.outcome}", line, actor=event.actor)


@effects.register(ev.ConfirmationDecided, phase=Phase.MESSAGE, effect="SMS + in-app: 已确认")
def confirmation_decided_message(event: ev.ConfirmationDecided) -> None:
    """Confirmed: the parents hear it (a refusal's message is the refused item's own)."""
    if event.outcome != "confirmed":
        return
    case = event.case
    parents_message(
        case,
        key=f"confirmation:{event.request.pk}:confirmed",
        at=event.at,
        template="confirmation_confirmed",
        context={"who": _who(event.request), "items": _waiting_names(event.request)},
    )


# --- the applicant's confirmation of the previews (ADR 0035) --------------------------------


def _preview_names(preview: object) -> str:
    return "、".join(DOCUMENT_TITLES.get(k, k) for k in getattr(preview, "documents_kinds", []))


@effects.register(
    ev.PreviewRequested, phase=Phase.RECORD, effect="timeline: 预览已生成，等待确认签字"
)
def preview_requested_timeline(event: ev.PreviewRequested) -> None:
    item = ITEM_NAMES.get(event.preview.item, event.preview.item)
    line = (
        f"已生成{_preview_names(event.preview)}预览，请申请人确认签字（电子签名）；"
        f"确认后{item}推送至助产机构办理"
    )
    timeline_add(event.case, event.at, "preview_requested", line, item=event.preview.item)


@effects.register(
    ev.PreviewRequested, phase=Phase.MESSAGE, effect="SMS + in-app to the applicant: 请确认签字"
)
def preview_requested_message(event: ev.PreviewRequested) -> None:
    """To the applicant only (they sign); the link opens their case's preview page after
    sign-in, and holds the case number alone."""
    case = event.case
    applicant = case.typed_document().applicant
    if applicant is None or not applicant.phone:
        return
    link = settings.PUBLIC_BASE_URL + reverse("portal:preview", args=[case.number])
    parents_message(
        case,
        key=f"preview:{case.number}:ready",
        at=event.at,
        template="preview_ready",
        context={"documents": _preview_names(event.preview), "link": link},
        phones=[applicant.phone],
    )


@effects.register(ev.PreviewReminded, phase=Phase.RECORD, effect="timeline: 已提醒申请人确认签字")
def preview_reminded_timeline(event: ev.PreviewReminded) -> None:
    item = ITEM_NAMES.get(event.preview.item, event.preview.item)
    line = f"预览尚未确认签字，已提醒申请人；确认前{item}及其后续事项暂不办理"
    timeline_add(event.case, event.at, "preview_reminded", line, item=event.preview.item)


@effects.register(
    ev.PreviewReminded, phase=Phase.MESSAGE, effect="SMS + in-app to the applicant: 提醒确认签字"
)
def preview_reminded_message(event: ev.PreviewReminded) -> None:
    """The same words as the first message (the link to the preview page), once more."""
    case = event.case
    applicant = case.typed_document().applicant
    if applicant is None or not applicant.phone:
        return
    link = settings.PUBLIC_BASE_URL + reverse("portal:preview", args=[case.number])
    parents_message(
        case,
        key=f"preview:{case.number}:reminder",
        at=event.at,
        template="preview_ready",
        context={"documents": _preview_names(event.preview), "link": link},
        phones=[applicant.phone],
    )


@effects.register(ev.PreviewDecided, phase=Phase.RECORD, effect="timeline: 已确认签字 / 要求更正")
def preview_decided_timeline(event: ev.PreviewDecided) -> None:
    preview = event.preview
    item = ITEM_NAMES.get(preview.item, preview.item)
    if event.outcome == "confirmed":
        line = f"申请人已确认预览并电子签名，{item}已推送至助产机构办理"
    else:
        line = f"申请人认为预览信息有误（{preview.reason}），{item}转线下办理"
    timeline_add(
        event.case, event.at, f"preview_{event.outcome}", line, item=preview.item, actor=event.actor
    )
