"""Model instances made from a read's row without ``Model.__init__`` where that is exactly
what Django makes (issue 10, session 28, helper h-model).

``Model.from_db(db, field_names, values)`` — how Django's model iterable makes each row
into an instance — calls ``cls(*values)``: ``Model.__init__`` sends ``pre_init``, makes a
``ModelState``, sets each loaded column's value by ``setattr`` (a deferred column is left
out), sends ``post_init``; ``from_db`` then sets ``_state.adding = False`` and
``_state.db``. That was 6.6 % of the web tier's CPU (py-spy, a 400-case run), a quarter
of it `onestop.common.compiled`'s reads. `Making.make` puts the same values into a new
instance's ``__dict__`` directly, which is the same instance where

- the model's class runs nothing of its own on making: ``__init__``, ``__new__``,
  ``__setattr__`` and ``from_db`` are Django's (and no class after ``Model`` in its MRO
  has an ``__init__`` that ``Model.__init__``'s ``super().__init__()`` would call);
- no loaded column's attribute is a descriptor that sets (``__set__``) other than
  Django's foreign key attribute (on a new instance it writes ``__dict__``, and its check
  of the related cache makes ``_state.fields_cache`` an empty dict where the key is not
  None: made here the same), the encrypted fields' `_OpenedWhenRead` and the file
  fields' ``FileDescriptor`` (each writes ``__dict__``; not the image fields' own, which
  reads the image's size); a model with any other is made by ``from_db``;
- ``pre_init`` and ``post_init`` would call no receiver for the model — Django's own test
  in ``Signal.send``: no receivers at all, or none cached for the sender. Judged at each
  instance, so a receiver connected later is called (its instances made by ``from_db``,
  whose ``send`` also fills the cache the next instance is judged by).

The values go onto the instance in the order and under the names ``Model.__init__`` sets
them: every concrete field's, positionally, where all are loaded, else those of the
concrete fields named in ``field_names``, in the model's order (``from_db``'s padding
with ``DEFERRED``). `Populator` is Django's ``RelatedPopulator`` (``select_related``)
making its instances so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, signals
from django.db.models.base import ModelState
from django.db.models.fields.files import FileDescriptor
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import RelatedPopulator
from django.dispatch.dispatcher import NO_RECEIVERS

from onestop.common.fields import _OpenedWhenRead

_PRE_INIT, _POST_INIT = signals.pre_init, signals.post_init

# The setting descriptors whose ``__set__`` on a new instance is writing ``__dict__`` (the
# foreign key's also reads the related cache: `Making`'s ``fk_at``).
_FOREIGN_KEY_SET = ForeignKeyDeferredAttribute.__set__
_PLAIN_SETS = (_FOREIGN_KEY_SET, _OpenedWhenRead.__set__, FileDescriptor.__set__)


def _class_attribute(model: type[Model], name: str) -> Any:
    for klass in model.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def _makes_nothing_of_its_own(model: type[Model]) -> bool:
    """Whether making an instance of ``model`` runs only Django's code (module docstring)."""
    mro = model.__mro__
    if Model not in mro or model._meta.abstract:
        return False
    after_model = mro[mro.index(Model) + 1 :]
    return (
        model.__init__ is Model.__init__
        and model.__new__ is object.__new__
        and model.__setattr__ is object.__setattr__
        and getattr(model.from_db, "__func__", None) is getattr(Model.from_db, "__func__", 0)
        and not any("__init__" in vars(k) for k in after_model if k is not object)
    )


@dataclass(frozen=True)
class Making:
    """How the values of one selection of ``model``'s columns become its instance."""

    model: type[Model]
    field_names: list[str]  # ``from_db``'s (for a model made by it)
    names: tuple[str, ...]  # the attributes the values go to, positionally
    fk_at: tuple[int, ...]  # the values set through a foreign key's attribute
    direct: bool  # made without ``Model.__init__`` where no init receiver is there

    @classmethod
    def of(cls, model: type[Model], field_names: Sequence[str]) -> Making:
        concrete = [f.attname for f in model._meta.concrete_fields]
        if len(field_names) == len(concrete):
            names = tuple(concrete)
        else:
            names = tuple(n for n in concrete if n in field_names)
        direct = _makes_nothing_of_its_own(model) and len(names) == len(field_names)
        fk_at = []
        for at, name in enumerate(names):
            setting = getattr(type(_class_attribute(model, name)), "__set__", None)
            if setting is None:
                continue
            if setting not in _PLAIN_SETS:
                direct = False
            elif setting is _FOREIGN_KEY_SET:
                fk_at.append(at)
        return cls(model, list(field_names), names, tuple(fk_at), direct)

    def make(self, db: str, values: Sequence[Any]) -> Any:
        """``model.from_db(db, field_names, values)``, made directly where that is the same
        (module docstring)."""
        model = self.model
        if not (
            self.direct
            and (
                not _PRE_INIT.receivers
                or _PRE_INIT.sender_receivers_cache.get(model) is NO_RECEIVERS
            )
            and (
                not _POST_INIT.receivers
                or _POST_INIT.sender_receivers_cache.get(model) is NO_RECEIVERS
            )
        ):
            return model.from_db(db, self.field_names, values)
        obj = model.__new__(model)
        state = ModelState()
        kept = state.__dict__
        for at in self.fk_at:
            # ``ForeignKeyDeferredAttribute.__set__``: ``None != value`` reads the cache
            if values[at] is not None:
                kept["fields_cache"] = {}
                break
        kept["adding"] = False
        kept["db"] = db
        data = obj.__dict__
        data["_state"] = state
        data.update(zip(self.names, values, strict=True))
        return obj


class Populator(RelatedPopulator):
    """Django's ``RelatedPopulator`` whose instances (and its related ones') `Making`
    makes."""

    def __init__(self, klass_info: dict[str, Any], select: Any, db: str) -> None:
        # (django-stubs describe a later Django: this one takes no fetch mode)
        super().__init__(klass_info, select, db)  # type: ignore[call-arg]
        self.related_populators = populators(klass_info, select, db)
        self.making = Making.of(self.model_cls, self.init_list)

    def populate(self, row: Sequence[Any], from_obj: Model) -> None:
        if self.reorder_for_init:
            obj_data = self.reorder_for_init(row)
        else:
            obj_data = row[self.cols_start : self.cols_end]
        if obj_data[self.pk_idx] is None:
            obj = None
        else:
            obj = self.making.make(self.db, obj_data)
            for related in self.related_populators:
                related.populate(row, obj)
        self.local_setter(from_obj, obj)
        if obj is not None:
            self.remote_setter(obj, from_obj)


def populators(klass_info: dict[str, Any], select: Any, db: str) -> list[RelatedPopulator]:
    """``get_related_populators`` with `Populator`s."""
    made: list[RelatedPopulator] = [
        Populator(info, select, db) for info in klass_info.get("related_klass_infos", [])
    ]
    return made
