"""Building pydantic models from values that are already valid, without validating again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)
# A field's default from the values before it; None for a required field.
Filler = Callable[[dict[str, Any]], Any] | None
# RFC 4122 variant and version 5 bits, as uuid.UUID(bytes=..., version=5) sets them.
_UUID5_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID5_SET = (0x8000 << 48) | (5 << 76)


def trusted(model: type[M], **fields: Any) -> M:
    """A model instance from valid values: what model_construct makes, at a fraction of its
    cost (it resolves defaults and aliases field by field on every call).

    The mapper's commands take every value from the validated raw event or from a draft
    already held to Zoho's limits; validating them again was a sixth of the mapper's time
    per customer. Fields not given get their defaults (a field added to the contract later
    must not break this); a missing required field or an unknown one is a bug and raises
    TypeError. Values are kept in the model's field order, the order model_dump_json writes
    them in. tests/services/mapper/test_fast_construct.py checks the result equals a
    validated model.
    """
    if tuple(fields) != _names(model):  # all given in the model's order: the fast path
        fields = _with_defaults(model, fields)
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", fields)
    object.__setattr__(instance, "__pydantic_fields_set__", set(fields))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def _with_defaults(model: type[BaseModel], given: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, fill in _fillers(model):
        if name in given:
            values[name] = given[name]
        elif fill is None:
            raise TypeError(f"{model.__name__}.{name} is required")
        else:
            values[name] = fill(values)
    if unknown := given.keys() - values.keys():
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    return values


@cache
def _names(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(model.model_fields)


@cache
def _fillers(model: type[BaseModel]) -> tuple[tuple[str, Filler], ...]:
    """Per model, once: pydantic's FieldInfo.get_default inspects a default factory's
    signature on every call (about 300 us), which a command per record cannot afford."""
    return tuple((name, _filler(info)) for name, info in model.model_fields.items())


def _filler(info: FieldInfo) -> Filler:
    if info.is_required():
        return None
    factory = info.default_factory
    if factory is None:
        # As get_default does: a mutable default is copied for each instance.
        return lambda values: info.get_default(call_default_factory=False)
    if info.default_factory_takes_validated_data:
        return lambda values: info.get_default(call_default_factory=True, validated_data=values)
    return lambda values: factory()  # type: ignore[call-arg]


def fast_uuid5(sha1_digest: bytes) -> uuid.UUID:
    """uuid.UUID(bytes=sha1_digest[:16], version=5) in half the time: a command id per
    record is computed this way (UUID.__init__ checks arguments it is not given)."""
    value = int.from_bytes(sha1_digest[:16]) & _UUID5_CLEAR | _UUID5_SET
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
    return made
