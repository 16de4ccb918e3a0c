"""Proactive start (主动服务, 免申即享 beyond Jilin's two items; issue 11 promise 13, ADR 0033).

When a hospital system records a delivery through the API, in the same transaction as the
delivery record: where the region takes applications online, the mother's draft is
prepared from the record (the portal's own draft, so she continues in the normal online
form, the hospital's fields read-only), an `Invitation` is recorded, and an SMS with a link
to the online application is queued to her phone. The link holds no personal data and no
record number: it leads to the parents' sign-in with her phone, then to her draft.

Once per delivery record (a replay or an update of the record invites nobody again); not
when the newborn already has an active case; not where the region has no online channel
(the API answer says why). The invitation expires with the draft's retention.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.accounts.models import Role, User, actor_label
from onestop.audit.services import audit_record
from onestop.cases.claims import active_holder
from onestop.cases.domain.paths import put_path
from onestop.cases.filers import region_divisions
from onestop.common.fields import index_of
from onestop.core.events import emit
from onestop.hospitals.models import DeliveryRecord
from onestop.hospitals.selectors import DELIVERY_FIELDS, normalize_record_number
from onestop.hospitals.services import delivery_record_upsert
from onestop.policy.loader import default_packs
from onestop.policy.schema import PolicyPack
from onestop.portal.events import MotherInvited
from onestop.portal.models import Draft, Invitation
from onestop.portal.services import DRAFT_LIFETIME, PREFILL_PATHS, draft_open
from onestop.reference.domain import division_in
from onestop.reference.selectors import current_reference

# Why no invitation was sent (stable codes of the API answer).
NO_ONLINE_CHANNEL = "no_online_channel"
CASE_EXISTS = "case_exists"
ALREADY_INVITED = "already_invited"
PHONE_NOT_PARENT = "phone_not_parent"
NOT_IN_REGION = "hospital_not_in_region"


@dataclass(frozen=True)
class Recorded:
    """What recording a delivery did: the record (new or updated) and the invitation."""

    record: DeliveryRecord
    created: bool
    invitation: Invitation | None
    invited: bool  # an invitation was created by this call
    reason: str  # why not, when not invited ("" when invited)
    message: str
    region: str


def regions_of_hospital(hospital: str, *, now: datetime) -> list[PolicyPack]:
    """The packs in force whose birth-hospital scope covers the hospital's division."""
    known = current_reference().hospitals.get(hospital)
    if known is None:
        return []
    out = []
    for region in default_packs().regions:
        pack = default_packs().current(region, now)
        if pack is not None and division_in(known.division, region_divisions(pack)):
            out.append(pack)
    return out


def _online(pack: PolicyPack) -> bool:
    return any(channel.code == "online" for channel in pack.channels)


def _parent_user(phone: str) -> User | None:
    """The parents' account of this phone (created as the SMS sign-in would); None when
    the phone belongs to a staff account (never signed in by SMS)."""
    index = index_of(phone, purpose="phone")
    user = User.objects.filter(phone_index=index).first()
    if user is not None:
        return user if user.role == Role.PARENT else None
    user = User(username=f"p-{index[:20]}", role=Role.PARENT, phone=phone, phone_index=index)
    user.set_unusable_password()
    user.save()
    return user


def _position(draft: Draft, hospital: str, record_number: str) -> int:
    """Where the record's newborn goes in the draft: its own place if already there; the
    next place when the draft already holds another record's newborn (twins recorded
    under two record numbers: one application, 多胞胎); else the first."""
    entered = draft.document.get("newborns")
    newborns = [b for b in entered if isinstance(b, dict)] if isinstance(entered, list) else []
    for position, baby in enumerate(newborns):
        same = baby.get("hospital") == hospital
        if same and normalize_record_number(str(baby.get("record_number") or "")) == record_number:
            return position
    from_records = [b for b in newborns if b.get("record_number")]
    return len(newborns) if from_records and draft.locked else 0


def _prepared(
    draft: Draft, *, hospital: str, record_number: str, mother: Mapping[str, str],
    data: Mapping[str, Any], now: datetime,
) -> None:  # fmt: skip
    """Fill the draft from the record; the filled paths are marked and locked."""
    document = copy.deepcopy(draft.document)
    baby = f"newborns[{_position(draft, hospital, record_number)}]"
    values: dict[str, Any] = {
        "applicant.role": "mother",
        "mother.known": True,
        "mother.residency": "mainland",
        "mother.name": mother["name"],
        "mother.id_number": mother["id_number"],
        "mother.phone": mother["phone"],
        f"{baby}.hospital": hospital,
        f"{baby}.record_number": record_number,
    }
    for key, path in PREFILL_PATHS.items():
        if key != "mother_name" and data.get(key) is not None:
            values[path.replace("newborns[0]", baby)] = data[key]
    for path, value in values.items():
        put_path(document, path, value)
    filled = [path for path in values if path not in ("applicant.role", "mother.known")]
    kept = [path for path in draft.locked if path not in filled]
    draft.document = document
    draft.prefilled = list(dict.fromkeys([*draft.prefilled, *filled]))
    draft.locked = [*kept, *filled]
    draft.updated_at = now
    draft.save(update_fields=["document", "prefilled", "locked", "updated_at"])


def delivery_record_invite(
    *,
    hospital: str,
    record_number: str,
    mother: Mapping[str, str],
    newborn: Mapping[str, Any],
    filer: User | None = None,
    now: datetime | None = None,
) -> Recorded:
    """Store the delivery record and, the first time, invite the mother (one transaction).

    ``mother`` holds the checked ``name``, ``id_number`` and ``phone``; ``newborn`` the
    delivery fields (`DELIVERY_FIELDS`). The caller checked that the filer may record
    for ``hospital``."""
    now = now or timezone.now()
    with transaction.atomic():
        data = {**{k: newborn.get(k) for k in DELIVERY_FIELDS}, "mother_name": mother["name"]}
        record, created = delivery_record_upsert(
            hospital=hospital,
            record_number=record_number,
            mother_id_number=mother["id_number"],
            data=data,
            now=now,
        )
        record = DeliveryRecord.objects.select_for_update().get(pk=record.pk)
        number = record.record_number

        def answer(reason: str, message: str, region: str = "") -> Recorded:
            invitation = Invitation.objects.filter(delivery_record=record).first()
            return Recorded(record, created, invitation, False, reason, message, region)

        existing = Invitation.objects.filter(delivery_record=record).first()
        if existing is not None:
            return answer(
                ALREADY_INVITED, _("该分娩记录已邀请过母亲，不再重复发送"), existing.region
            )
        packs = regions_of_hospital(hospital, now=now)
        if not packs:
            return answer(NOT_IN_REGION, _("该医疗机构不在任何地区的服务范围内，未发送邀请"))
        online = [pack for pack in packs if _online(pack)]
        if not online:
            return answer(
                NO_ONLINE_CHANNEL,
                _("{region}不受理网上申请（只在窗口办理），未发送邀请；请按窗口办理流程告知家长")
                .format(region=packs[0].name),
                packs[0].region,
            )  # fmt: skip
        pack = online[0]
        document = {
            "mother": {"id_number": mother["id_number"]},
            "newborns": [
                {"hospital": hospital, "record_number": number, "born_at": data.get("born_at")}
            ],
        }
        if active_holder(document) is not None:
            return answer(CASE_EXISTS, _("该新生儿已有申请，未发送邀请"), pack.region)
        owner = _parent_user(mother["phone"])
        if owner is None:
            return answer(
                PHONE_NOT_PARENT, _("该手机号码不能用于家长登录，未发送邀请"), pack.region
            )
        draft = draft_open(owner=owner, region=pack.region, now=now)
        # One SMS per prepared application: a second newborn's record (twins under two
        # record numbers) joins the draft the mother was already invited to.
        invited_before = Invitation.objects.filter(
            draft=draft, state=Invitation.State.INVITED
        ).exists()
        _prepared(draft, hospital=hospital, record_number=number, mother=mother, data=data, now=now)
        invitation = Invitation.objects.create(
            delivery_record=record,
            draft=draft,
            owner=owner,
            region=pack.region,
            created_at=now,
            expires_at=now + DRAFT_LIFETIME,
        )
        audit_record(
            stream=f"invitation:{invitation.pk}",
            at=now,
            actor=filer,
            actor_label=actor_label(filer) if filer is not None else "hospital",
            action="invitation_sent",
            object_type="invitation",
            object_id=str(invitation.pk),
            detail={"hospital": hospital, "region": pack.region, "created": created},
        )
        if not invited_before:
            emit(
                MotherInvited(
                    invitation_id=invitation.pk,
                    phone=mother["phone"],
                    region=pack.region,
                    region_name=pack.name,
                    expires_at=invitation.expires_at,
                    at=now,
                )
            )
        message = (
            _("已加入母亲已收到邀请的申请（多胞胎），未重复发送短信")
            if invited_before
            else _("已为母亲准备好申请并发送短信邀请")
        )
        return Recorded(record, created, invitation, True, "", message, pack.region)
