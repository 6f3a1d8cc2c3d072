"""Typed, validated views of `params.yaml`.

Each stage parses its own section once, at start. An unknown key, a missing key or a value of
the wrong type fails before any work, with a message naming the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
PARAMS_FILE = Path("params.yaml")


class ParamsError(ValueError):
    """A bad value in params.yaml; the message names the key."""


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        params = yaml.safe_load(f)
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping at top level")
    return params


def section(cls: type[T], params: dict[str, Any], name: str) -> T:
    """Parse `params[name]` into the dataclass `cls`."""
    if name not in params:
        raise ParamsError(f"params.yaml: missing section '{name}'")
    return parse(cls, params[name], name)


def parse(cls: type[T], value: Any, where: str) -> T:
    """Build dataclass `cls` from a mapping, recursively, checking keys and types."""
    if not isinstance(value, dict):
        raise ParamsError(f"params.yaml: '{where}' must be a mapping, got {value!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ParamsError(f"params.yaml: unknown key '{where}.{unknown[0]}'; "
                          f"allowed keys: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        key = f"{where}.{name}"
        if name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ParamsError(f"params.yaml: missing key '{key}'")
            continue
        kwargs[name] = _coerce(hints[name], value[name], key)
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if check is not None:
        check(where)
    return obj


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, key)
            except ParamsError as err:
                errors.append(str(err))
        raise ParamsError(errors[0])
    if origin is typing.Literal:
        if value not in args:
            raise ParamsError(f"params.yaml: '{key}' is {value!r}; allowed: "
                              f"{', '.join(map(str, args))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"params.yaml: '{key}' must be a list, got {value!r}")
        return [_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"params.yaml: '{key}' must be a mapping, got {value!r}")
        return {str(k): _coerce(args[1], v, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, key)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is Path and isinstance(value, str):
        return Path(value)
    if tp is Any:
        return value
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ParamsError(f"params.yaml: '{key}' must be {tp.__name__}, got {value!r}")
    return value
