"""Result delivery (结果送达): the pickup notice (time and place) or the mailing notice a
parent receives when an item with a physical result is done. Pure; imports no Django.

The service layer finds the place (the hospital, the police station, the service center,
the bank branch) and the first day the result can be collected; this module only decides
what the result is called, what to bring and how the message reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from onestop.catalogue.names import CatalogueView
from onestop.reference.idnumber import mask_name, mask_phone

Method = Literal["pickup", "mail"]

# From the catalogue's items' `delivery` (onestop/catalogue/data/items.yaml):
# item code → the result key of `delivery.<result>` in the case document,
RESULT_OF_ITEM: Mapping[str, str] = CatalogueView(
    lambda c: {code: i.delivery.result for code, i in c.items.items() if i.delivery is not None}
)
# the result's name,
RESULT_NAMES: Mapping[str, str] = CatalogueView(
    lambda c: {i.delivery.result: i.delivery.name.zh for i in c.items.values() if i.delivery}
)
# what the person collecting brings,
BRING: Mapping[str, str] = CatalogueView(
    lambda c: {i.delivery.result: i.delivery.bring for i in c.items.values() if i.delivery}
)
# and where it is collected (`PickupPlace` of onestop.catalogue.schema).
PICKUP: Mapping[str, str] = CatalogueView(
    lambda c: {i.delivery.result: i.delivery.pickup for i in c.items.values() if i.delivery}
)

# What the parents must do after collecting a result, told with the pickup or mailing notice.
# The social security card's financial function is activated at the bank (seed 003: 告知
# 金融功能需到发卡银行营业网点办理激活; seed 002: 领卡后可在全市任意一个对应银行网点激活社保卡
# 金融功能).
AFTER_COLLECTING: Mapping[str, str] = {
    "social_security_card": (
        "社会保障卡金融功能需到发卡银行网点激活（可在全市任意一个该银行网点办理）"
    ),
}

DEFAULT_OFFICE_HOURS = "工作日 8:30–17:30"
BANK_OFFICE_HOURS = "工作日 9:00–17:00（以网点营业时间为准）"

_WEEKDAYS = "一二三四五六日"
_ADDRESS_STOPS = ("街道", "镇", "乡", "区", "县", "市")


@dataclass(frozen=True)
class Place:
    """Where a result is collected."""

    name: str
    address: str = ""
    office_hours: str = ""

    def describe(self) -> str:
        return f"{self.name}（{self.address}）" if self.address else self.name


@dataclass(frozen=True)
class DeliveryNotice:
    """A composed notice: the message to the parents and the line for the timeline."""

    method: Method
    result: str
    sms: str
    timeline: str


def result_of(item: str) -> str | None:
    """The physical result an item hands over (None: the item has none)."""
    return RESULT_OF_ITEM.get(item)


def method_of(choice: object) -> Method:
    """The chosen method from a `delivery.<result>` section; pickup unless mail was chosen."""
    if isinstance(choice, dict) and choice.get("method") == "mail":
        return "mail"
    return "pickup"


def format_day(day: dt.date) -> str:
    """2026-11-23 → 2026年11月23日（星期一）."""
    return f"{day.year}年{day.month}月{day.day}日（星期{_WEEKDAYS[day.weekday()]}）"


def mask_address(address: str | None) -> str:
    """Keep the administrative part, hide the street and number.

    钦州市钦北区新棠镇新棠街12号 → 钦州市钦北区新棠镇****. Never raises.
    """
    if not isinstance(address, str):
        return ""
    text = address.strip()
    if not text:
        return ""
    cut = 0
    for stop in _ADDRESS_STOPS:
        at = text.rfind(stop, 0, max(len(text) - 1, 0))
        if at >= 0:
            cut = max(cut, at + len(stop))
    if cut == 0:
        cut = min(len(text) // 2, 6)
    return text[:cut] + "****"


def _who_and_bring(result: str, by: str | None) -> tuple[str, str]:
    bring = BRING.get(result, "本人身份证原件")
    if result == "birth_certificate":
        if by == "father":
            return "新生儿父亲", f"{bring}和母亲签署的授权委托书"
        return "新生儿母亲", bring
    if result == "vaccination_certificate":
        return "新生儿监护人", bring
    if result == "social_security_card":
        # seed 002: 收到领卡短信后由代领人携带本人身份证和新生儿户口簿原件前往短信中的领卡地点领取
        return "代领人", bring
    return "", bring


def pickup_notice(
    *,
    case_number: str,
    item_name: str,
    result: str,
    place: Place,
    from_day: dt.date | None,
    by: str | None = None,
) -> DeliveryNotice:
    """The notice for a result the parents collect: what, where, from when, opening hours."""
    thing = RESULT_NAMES.get(result, result)
    when = f"自{format_day(from_day)}起" if from_day else "自下一个工作日起"
    hours = place.office_hours or DEFAULT_OFFICE_HOURS
    who, bring = _who_and_bring(result, by)
    action = f"请{who}{when}持{bring}到{place.describe()}领取{thing}"
    sms = f"【出生一件事】您的办件{case_number}：{item_name}已办结，{action}，办公时间：{hours}。"
    timeline = f"{thing}可领取：{place.describe()}，{when}，办公时间：{hours}"
    after = AFTER_COLLECTING.get(result)
    if after:
        sms += f"{after}。"
        timeline += f"；{after}"
    return DeliveryNotice("pickup", result, sms, timeline)


def mail_notice(
    *,
    case_number: str,
    item_name: str,
    result: str,
    address: dict[str, object] | None,
) -> DeliveryNotice:
    """The notice for a result sent by post, with the address masked."""
    thing = RESULT_NAMES.get(result, result)
    section = address or {}
    raw_address = section.get("address")
    raw_name = section.get("recipient")
    raw_phone = section.get("phone")
    where = mask_address(raw_address if isinstance(raw_address, str) else None)
    recipient = "，".join(
        part
        for part in (
            mask_name(raw_name if isinstance(raw_name, str) else None),
            mask_phone(raw_phone if isinstance(raw_phone, str) else None),
        )
        if part
    )
    to = where or "申请表填写的邮寄地址"
    if recipient:
        to = f"{to}（{recipient}）"
    sms = (
        f"【出生一件事】您的办件{case_number}：{item_name}已办结，{thing}已交寄，"
        f"邮寄至{to}，请注意查收。"
    )
    timeline = f"{thing}已交寄，邮寄至{to}"
    after = AFTER_COLLECTING.get(result)
    if after:
        sms += f"{after}。"
        timeline += f"；{after}"
    return DeliveryNotice("mail", result, sms, timeline)
