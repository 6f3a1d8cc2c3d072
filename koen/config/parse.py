"""Typed, validated views of `params.yaml`, and a record of which keys a stage reads.

`parse` builds dataclasses from mappings, recursively: an unknown key, a missing key or a value
of the wrong type fails before any work, with a message naming the key and what is allowed.
Every field without a default is required, so `params.yaml` is the one place for defaults.

With `KOEN_PARAMS_TRACE=<dir>` set, each process writes `<dir>/<pid>.json` at exit: its command
line and every key it read after loading (validation reads everything and is not counted).
The deps tests compare that with the `params` a stage declares in `dvc.yaml`.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
TRACE_ENV = "KOEN_PARAMS_TRACE"
_read: set[str] | None = None


class ParamsError(ValueError):
    """A bad value in params.yaml; the message names the key."""


def start_trace() -> None:
    """Record reads from now on; written at exit when `KOEN_PARAMS_TRACE` names a directory."""
    global _read
    if _read is None and os.environ.get(TRACE_ENV):
        _read = set()
        atexit.register(_write_trace, Path(os.environ[TRACE_ENV]))


def _write_trace(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{os.getpid()}.json").write_text(json.dumps({"argv": sys.argv,
                                                         "read": sorted(_read or ())}))


@contextmanager
def untraced() -> Iterator[None]:
    """Reads that do not count as the stage's: a run key hashes whole sections, more than the
    stage reads, and that must not make the deps tests ask for more params in dvc.yaml."""
    global _read
    saved, _read = _read, None
    try:
        yield
    finally:
        _read = saved


def _record(key: str) -> None:
    if _read is not None:
        _read.add(key)


class Section:
    """Base of the params dataclasses: reading a leaf value records its full key."""

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if (_read is not None and not isinstance(value, Section | KeyedSection)
                and name in object.__getattribute__(self, "__dataclass_fields__")):
            _record(_join(object.__getattribute__(self, "_where"), name))
        return value


class KeyedSection(Mapping[str, Any]):
    """A mapping of sections (e.g. `merges`): `m[key]` records `where.key`, iterating `where`."""

    def __init__(self, where: str, items: dict[str, Any]):
        self._where, self._items = where, items

    def __getitem__(self, key: str) -> Any:
        value = self._items[key]
        if not isinstance(value, Section):
            _record(_join(self._where, key))
        return value

    def __iter__(self) -> Iterator[str]:
        _record(self._where)
        return iter(self._items)

    def __len__(self) -> int:
        _record(self._where)
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        _record(self._where)
        return key in self._items


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            params = yaml.safe_load(f)
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such file; run from the project root") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping at top level")
    return params


def parse(cls: type[T], value: Any, where: str) -> T:
    """Build dataclass `cls` from a mapping, recursively, checking keys and types."""
    label = where or "top level"
    if not isinstance(value, dict):
        raise ParamsError(f"params.yaml: '{label}' must be a mapping, got {value!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ParamsError(f"params.yaml: unknown key '{_join(where, unknown[0])}'; "
                          f"allowed keys{' in ' + where if where else ''}: "
                          f"{', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        key = _join(where, name)
        if name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ParamsError(f"params.yaml: missing key '{key}'")
            continue
        kwargs[name] = _coerce(hints[name], value[name], key)
    obj = cls(**kwargs)
    object.__setattr__(obj, "_where", where)
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
        items = {str(k): _coerce(args[1], v, f"{key}.{k}") for k, v in value.items()}
        return KeyedSection(key, items) if dataclasses.is_dataclass(args[1]) else items
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
