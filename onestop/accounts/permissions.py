"""Who may see or act on what: role × jurisdiction, for every object.

Views and services both ask these functions; querysets are narrowed by the selectors below
so a guessed URL finds nothing rather than something it should not show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from onestop.accounts.models import JurisdictionKind, Role, User
from onestop.audit.services import access_record
from onestop.common.fields import index_of

if TYPE_CHECKING:
    from onestop.cases.models import Case
    from onestop.workflow.models import CaseItem


def _division_prefix(user: User) -> str | None:
    if user.jurisdiction_kind == JurisdictionKind.DIVISION and user.jurisdiction_code:
        return user.jurisdiction_code
    return None


def item_in_jurisdiction(user: User, item: CaseItem) -> bool:
    prefix = _division_prefix(user)
    if prefix is not None:
        return item.division.startswith(prefix)
    return (
        bool(user.jurisdiction_code)
        and user.jurisdiction_kind == item.jurisdiction_kind
        and user.jurisdiction_code == item.jurisdiction_code
    )


def can_work_item(user: User, item: CaseItem) -> bool:
    """An officer of the item's department whose jurisdiction holds the item."""
    return (
        user.is_active
        and user.role == Role.OFFICER
        and user.department == item.department
        and item_in_jurisdiction(user, item)
    )


def items_for_officer(user: User, qs: QuerySet[CaseItem]) -> QuerySet[CaseItem]:
    if user.role != Role.OFFICER or not user.department:
        return qs.none()
    qs = qs.filter(department=user.department)
    prefix = _division_prefix(user)
    if prefix is not None:
        return qs.filter(division__startswith=prefix)
    if not user.jurisdiction_code:
        return qs.none()
    return qs.filter(
        jurisdiction_kind=user.jurisdiction_kind, jurisdiction_code=user.jurisdiction_code
    )


def officer_scope_key(user: User) -> tuple[object, ...]:
    """Every column of ``user`` that `items_for_officer` reads, with the user's id: what a
    statement compiled once for an officer's scope is kept under (a changed scope is
    another key, so what was compiled for one scope is never used for another)."""
    return (user.pk, user.role, user.department, user.jurisdiction_kind, user.jurisdiction_code)


def parent_phone_index(user: User) -> str | None:
    if user.role != Role.PARENT or not user.phone:
        return None
    return user.phone_index or index_of(user.phone, purpose="phone")


# The case's columns a parent's phone is matched in: the applicant's (the mother, the father
# or a trustee who applied), the mother's and the father's phone's blind index.
PARENT_PHONE_COLUMNS = ("applicant_phone_index", "mother_phone_index", "father_phone_index")


def parent_scope(user: User) -> str | None:
    """The whole of a parent's access rule, the one definition `cases_visible_to` and the
    parents' own reads (`portal.selectors`, `portal.stamps`) use: the phone's blind index a
    signed-in, active parent's cases are matched by in `PARENT_PHONE_COLUMNS`
    (`parent_phone_match`); "" for a parent who sees no case (no phone); None where the
    user's cases are not a parent's to match (signed out, inactive, not a parent, a
    superuser: `cases_visible_to`'s other branches say what they see)."""
    if (
        not user.is_authenticated
        or not user.is_active
        or user.role != Role.PARENT
        or user.is_superuser
    ):
        return None
    return parent_phone_index(user) or ""


def parent_phone_match(applicant: str, mother: str, father: str) -> Q:
    """A parent's cases: the phone's blind index as the applicant's, the mother's or the
    father's (one value per column, so a statement compiled once can take each as its own
    parameter: `portal.selectors`)."""
    q = Q()
    for column, index in zip(PARENT_PHONE_COLUMNS, (applicant, mother, father), strict=True):
        q |= Q(**{column: index})
    return q


def parent_phone_sql(quote: Callable[[str], str]) -> str:
    """`parent_phone_match` as SQL, a ``%s`` per column in `PARENT_PHONE_COLUMNS`'s order
    (the parents' pages' stamps, `portal.stamps`)."""
    return " OR ".join(f"{quote(column)} = %s" for column in PARENT_PHONE_COLUMNS)


def cases_visible_to(user: User, qs: QuerySet[Case]) -> QuerySet[Case]:
    """The cases a user may open at all (what they may see inside is a second question)."""
    index = parent_scope(user)
    if index is not None:  # a parent's own cases (`parent_scope`)
        return qs.filter(parent_phone_match(index, index, index)) if index else qs.none()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == Role.ADMIN or user.is_superuser:
        return qs
    if user.role == Role.CLERK:
        if not user.jurisdiction_code:
            return qs.none()
        return qs.filter(counter_kind=user.jurisdiction_kind, counter_code=user.jurisdiction_code)
    if user.role == Role.SUPERVISOR:
        prefix = _division_prefix(user)
        return qs.filter(division__startswith=prefix) if prefix else qs.none()
    if user.role == Role.OFFICER:
        # The case's items, from the case model: permissions sit below the apps they guard.
        item_model = qs.model._meta.get_field("items").related_model
        every_item: QuerySet[CaseItem] = item_model._default_manager.all()  # type: ignore[assignment]
        items = items_for_officer(user, every_item)
        return qs.filter(pk__in=items.values("case_id"))
    return qs.none()


def case_scope_key(user: User) -> tuple[object, ...]:
    """Every column of ``user`` that `cases_visible_to` reads, with the user's id: what a
    statement compiled once for a user's cases is kept under (a changed scope is another
    key, so what was compiled for one scope is never used for another)."""
    return (*officer_scope_key(user), user.is_active, user.is_superuser, parent_scope(user))


def can_view_case(user: User, case: Case) -> bool:
    return cases_visible_to(user, type(case)._default_manager.filter(pk=case.pk)).exists()


def sees_full_personal_data(user: User) -> bool:
    """Clerks (who enter and print the form) and officers (for their item's fields) see
    numbers in full; supervisors and everyone else see them masked."""
    return user.role in {Role.CLERK, Role.OFFICER}


def parent_page_refuse(
    user: User, *, what: str, case_number: str = "-", message: str = ""
) -> NoReturn:
    """A parents' page (``/my/…``) asked for by someone it is not for: 404. Parents' pages
    are for the case's parents only (issue 8, defect 10: "83 such reads by admin,
    supervisors and other departments' officers succeeded and wrote no access record"), so
    a staff member's attempt is kept as a refused access record; another parent's is not a
    staff read and is only refused."""
    if user.is_authenticated and user.role != Role.PARENT:
        access_record(
            actor=user, case_number=case_number[:40], what=what, at=timezone.now(), granted=False
        )
    raise Http404(message or _("页面不存在"))
