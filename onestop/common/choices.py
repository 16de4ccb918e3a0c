"""Model and form choices built from the domain cores' enums and their names.

A pure module declares an enum and its Chinese names, marked for the translation catalogue
(`onestop.core.i18n.gettext_noop`); the Django side builds its choices from them here,
translated lazily when shown, instead of declaring the names a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

E = TypeVar("E", bound=StrEnum)


def labelled_choices(labels: Mapping[E, str]) -> list[tuple[str, Promise]]:
    """``[(value, lazily translated name), …]`` in the enum's order."""
    return [(member.value, gettext_lazy(name)) for member, name in labels.items()]
