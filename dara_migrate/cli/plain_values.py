"""Command-line values converted without loading pydantic, where typer would give the same.

Typer 0.29 converts every option and argument through a pydantic `TypeAdapter`: importing
pydantic and building the adapters is a third of a small audit's run time. `PlainValuesGroup`
(the command group's class) gives each parameter of a known plain type (str, int, float,
bool, Path, an Enum of choices, a list of those) a conversion that calls typer's own checks
for such values (choices, paths) and builds no adapter. Any value it does not recognise as
plain (a malformed number, one below the option's minimum, a choice that is not one, a path
that fails a check) goes to typer's own conversion, so what is accepted, what it becomes and
every error message are typer's. With a typer that has no such layer (before 0.29), or whose
internals differ, nothing is changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context, Parameter

_NOT_PLAIN = object()
"""A converter's answer for a value that typer's own conversion must decide."""
_WHOLE_NUMBER = re.compile(r"0|[1-9][0-9]{0,17}")
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,14})(\.[0-9]{1,15})?")

Converter = Callable[[Any, "Context"], Any]


class PlainValuesGroup(TyperGroup):
    """Typer's command group, with plain values of its commands converted without pydantic."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _plain(super().get_params(ctx))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            # Its help option is made here, for the names its own context inherits from `ctx`.
            _plain(command.get_params(ctx))
        return command


def _plain(parameters: list[Parameter]) -> list[Parameter]:
    if _PYDANTIC_LAYER:
        for parameter in parameters:
            _install(parameter)
    return parameters


def _install(parameter: Parameter) -> None:
    """Give `parameter` the plain conversion, if typer would convert it lazily through an
    adapter and its type is one this module converts."""
    descriptor = getattr(parameter, "type_descriptor", None)
    if descriptor is None or vars(parameter).get("_runtime_param", _NOT_PLAIN) is not None:
        return
    convert = _converter(descriptor.annotation, descriptor.parameter_info)
    if convert is None:
        return
    try:
        plain = _PlainRuntimeParam(parameter_info=descriptor.parameter_info,
                                   annotation=descriptor.annotation, convert=convert,
                                   descriptor=descriptor)
    except TypeError:  # a typer whose conversion contract has other fields: left as it is
        return
    parameter._runtime_param = plain  # type: ignore[attr-defined]


def _converter(annotation: Any, info: Any) -> Converter | None:
    """The plain conversion for a parameter typed `annotation` with typer's settings `info`,
    in the order typer picks its adapters; None for any other type or setting."""
    if getattr(info, "parser", None) is not None:
        return None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(tuple(annotation), info.case_sensitive)
    if annotation is int or annotation is float:
        if info.clamp or info.max is not None:
            return None
        return _number(annotation, info.min)
    if annotation is bool:
        return _flag
    if annotation is str:
        return _text
    if annotation is Path and info.path_type is None:
        return _path(info)
    if getattr(annotation, "__origin__", None) is list:
        [item] = annotation.__args__
        convert = _converter(item, info)
        return None if convert is None else _items(convert)
    return None


def _choice(choices: tuple[Enum, ...], case_sensitive: bool) -> Converter:
    def convert(value: Any, ctx: Context) -> Any:
        try:
            return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive,
                                     ctx=ctx)
        except ValueError:
            return _NOT_PLAIN
    return convert


def _number(kind: type[int] | type[float], minimum: float | None) -> Converter:
    pattern = _WHOLE_NUMBER if kind is int else _DECIMAL

    def convert(value: Any, ctx: Context) -> Any:
        if isinstance(value, str) and pattern.fullmatch(value):
            number = kind(value)
        elif type(value) is kind:
            number = value
        else:
            return _NOT_PLAIN
        return _NOT_PLAIN if minimum is not None and number < minimum else number
    return convert


def _flag(value: Any, ctx: Context) -> Any:
    return value if isinstance(value, bool) else _NOT_PLAIN


def _text(value: Any, ctx: Context) -> Any:
    return value if isinstance(value, str) and _encodable(value) else _NOT_PLAIN


def _path(info: Any) -> Converter:
    def convert(value: Any, ctx: Context) -> Any:
        if isinstance(value, str) and _encodable(value):
            value = Path(value)
        elif not isinstance(value, Path):
            return _NOT_PLAIN
        try:
            return coerce_cli_path(value, info, path_type=Path, ctx=ctx)
        except Exception:  # typer's own conversion raises it again, worded from the value given
            return _NOT_PLAIN
    return convert


def _items(convert_item: Converter) -> Converter:
    def convert(value: Any, ctx: Context) -> Any:
        if not isinstance(value, (list, tuple)):
            return _NOT_PLAIN
        converted = [convert_item(item, ctx) for item in value]
        return _NOT_PLAIN if any(item is _NOT_PLAIN for item in converted) else converted
    return convert


def _encodable(text: str) -> bool:
    """Whether `text` holds no lone surrogate (an undecodable byte of the command line),
    which typer's conversion treats on its own."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path
except ImportError:  # a typer without the pydantic layer: its own conversion is light
    _PYDANTIC_LAYER = False
else:
    _PYDANTIC_LAYER = True

    @dataclass(frozen=True)
    class _PlainRuntimeParam(RuntimeParam):
        """Typer's conversion contract for one parameter: the plain conversion first, typer's
        own (its adapter, built on first need) for anything else."""

        convert: Converter = field(compare=False)
        descriptor: Any = field(compare=False)

        def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
            converted = self.convert(value, ctx)
            if converted is not _NOT_PLAIN:
                return converted
            return build_runtime_param(self.descriptor)._coerce_value(value, param=param,
                                                                      ctx=ctx)
