"""A pydantic base for specs that never coerces strings or booleans into numbers (or back)."""

from __future__ import annotations

import types
import typing
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationInfo, field_validator

_NUMBERS = (int, float)


@cache
def _field_kinds(model: type[BaseModel], name: str) -> frozenset[type]:
    """The plain types field ``name`` of ``model`` accepts (computed once per field)."""
    field = model.model_fields.get(name)
    return frozenset(_kinds(field.annotation)) if field is not None else frozenset()


def _kinds(annotation: Any) -> set[type]:
    """The plain types an annotation accepts (through Optional, unions, tuples and Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return {annotation} if isinstance(annotation, type) else set()
    if origin is typing.Literal:
        return {type(a) for a in typing.get_args(annotation)}
    if origin in (typing.Union, types.UnionType, typing.Annotated, tuple, list):
        out: set[type] = set()
        for arg in typing.get_args(annotation):
            if arg is not Ellipsis:
                out |= _kinds(arg)
        return out
    return set()


def refusal(value: Any, kinds: set[type] | frozenset[type]) -> str | None:
    """Why ``value`` may not stand for a field of ``kinds`` without coercion (None if it may)."""
    if str in kinds or not kinds:
        return None
    wants_bool = bool in kinds
    wants_number = bool(kinds & {int, float})
    if isinstance(value, bool):
        return None if wants_bool else "must be a number, not a boolean" if wants_number else None
    if isinstance(value, str):
        if wants_number:
            return "must be a number, not a string"
        return "must be true or false, not a string" if wants_bool else None
    if isinstance(value, _NUMBERS) and wants_bool and not wants_number:
        return "must be true or false, not a number"
    return None


class StrictModel(BaseModel):
    """A BaseModel whose int, float and bool fields refuse strings and booleans-as-numbers."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        kinds = _field_kinds(cls, str(info.field_name))
        if not kinds or str in kinds:
            return value
        items = value if isinstance(value, list | tuple) else (value,)
        for item in items:
            why = refusal(item, kinds)
            if why is not None:
                raise ValueError(why)
        return value
