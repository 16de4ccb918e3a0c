"""Users, their role and their jurisdiction (辖区).

Every staff object access is checked against both: an officer of one police station sees
only the tasks of that station; a supervisor sees the cases of the region (or division
prefix) they supervise. Parents sign in with a phone number and a one-time code.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils.module_loading import import_string
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from onestop.catalogue.loader import catalogue
from onestop.common.compiled import CompiledFirst
from onestop.common.fields import EncryptedTextField


class Role(models.TextChoices):
    PARENT = "parent", _("家长")
    CLERK = "clerk", _("窗口工作人员")
    OFFICER = "officer", _("部门经办人员")
    SUPERVISOR = "supervisor", _("监督管理人员")
    # 12345 hotline operators: answer callers from the knowledge base and look a case up
    # only after verifying the caller (issue 12); they open no case otherwise.
    OPERATOR = "operator", _("12345热线话务员")
    ADMIN = "admin", _("系统管理员")


def department_codes() -> list[str]:
    """The departments a user (an officer or an API client's service account) can belong
    to: those of the catalogue (onestop/catalogue/data/departments.yaml)."""
    return list(catalogue().departments)


def department_choices() -> list[tuple[str, str]]:
    """``(code, name)`` of every catalogue department, the name in the active language.
    A callable, so the model's choices follow the catalogue without a migration."""
    language = get_language()
    return [(code, d.name.in_language(language)) for code, d in catalogue().departments.items()]


class JurisdictionKind(models.TextChoices):
    HOSPITAL = "hospital", _("医疗机构")
    POLICE_STATION = "police_station", _("派出所")
    SERVICE_CENTER = "service_center", _("政务服务中心")
    DIVISION = "division", _("行政区划")


class UserManager(DjangoUserManager["User"]):
    """Django's, with the read of a user by username (``get_by_natural_key``: the
    password sign-in's ``ModelBackend``) compiled once per process: the same row, the same
    ``DoesNotExist`` for none."""

    def get_by_natural_key(self, username: Any) -> User:
        if self.model is not User or self._db is not None or not isinstance(username, str):
            # (a migration's historical model, a chosen database, an odd value: Django's)
            return super().get_by_natural_key(username)
        user = _BY_USERNAME.first(username)
        if user is None:
            raise self.model.DoesNotExist(
                f"{self.model._meta.object_name} matching query does not exist."
            )
        return user


class User(AbstractUser):
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices, default=Role.PARENT)
    department = models.CharField(
        _("部门"), max_length=24, choices=department_choices, blank=True, default=""
    )
    jurisdiction_kind = models.CharField(
        _("辖区类型"), max_length=16, choices=JurisdictionKind.choices, blank=True, default=""
    )
    jurisdiction_code = models.CharField(
        _("辖区代码"),
        max_length=32,
        blank=True,
        default="",
        help_text=_("医疗机构/派出所/服务中心代码，或行政区划代码（前缀匹配，如 45 表示广西全区）"),
    )
    display_name = models.CharField(_("姓名"), max_length=64, blank=True, default="")
    phone = EncryptedTextField(_("手机号码"), null=True, blank=True)
    phone_index = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    @property
    def is_staff_role(self) -> bool:
        return self.role in {Role.CLERK, Role.OFFICER, Role.SUPERVISOR, Role.OPERATOR, Role.ADMIN}

    def label(self) -> str:
        return self.display_name or self.username


_BY_USERNAME = CompiledFirst(
    User,
    lambda username: User.objects.filter(username=username),
    "onestop-stand-in-username",
)


def actor_label(user: User | None) -> str:
    """Who did something, as the timeline and the audit log name them."""
    if user is None:
        return "系统"
    return user.label()


class OneTimeCode(models.Model):
    """An SMS login code for a parent. Only a hash of the code is stored."""

    phone_index = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)  # wrong guesses of this code
    last_failed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # Keyed hash of the requesting client's address (never the address): the per-IP limit.
    ip_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")
        indexes = [models.Index(fields=["created_at"], name="otp_created_idx")]


class UserSession(AbstractBaseSession):
    """A database session with the signed-in user's id in a column of its own
    (``onestop.accounts.sessions``, ADR 0026 amendment "session and user in one
    statement"): a signed-in request reads its session and its user in one joined SELECT.
    The column is a copy of the session's ``_auth_user_id``, written with every save; the
    session data stays what Django reads and checks."""

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        db_table = "onestop_session"
        verbose_name = _("会话")
        verbose_name_plural = _("会话")

    @classmethod
    def get_session_store_class(cls) -> type[SessionBase]:
        store: type[SessionBase] = import_string("onestop.accounts.sessions.SessionStore")
        return store
