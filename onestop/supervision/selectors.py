"""Supervisors' reads: cases of their jurisdiction, found by number or a parent's ID number
(through the blind index), always with personal data masked."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from onestop.accounts.models import User
from onestop.accounts.permissions import cases_visible_to
from onestop.cases.models import Case, Person
from onestop.common.fields import index_of
from onestop.reference.idnumber import mask_id_number, mask_name, mask_phone


def find_cases(user: User, query: str = "") -> QuerySet[Case]:
    qs = cases_visible_to(user, Case.objects.all())
    query = "".join(query.split())
    if not query:
        return qs.order_by("-submitted_at")
    index = index_of(query, purpose="id")
    return qs.filter(
        Q(number__iexact=query) | Q(mother_id_index=index) | Q(father_id_index=index)
    ).order_by("-submitted_at")


@dataclass(frozen=True)
class MaskedPerson:
    role: str
    name: str
    id_number: str
    phone: str


def masked_people(case: Case) -> list[MaskedPerson]:
    return [
        MaskedPerson(
            p.get_role_display(),
            mask_name(p.name),
            mask_id_number(p.id_number),
            mask_phone(p.phone),
        )
        for p in Person.objects.filter(case=case).order_by("role")
    ]
