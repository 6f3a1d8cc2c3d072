"""Typed, validated views of `params.yaml`, and a record of which keys a stage reads.

`parse` builds dataclasses from mappings with pydantic: an unknown key, a missing key or a value
of the wrong type fails before any work, with a message naming the key and what is allowed.
Every field without a default is required, so `params.yaml` is the one place for defaults.
Pydantic knows no dotted keys: `parse` then gives each section its key and runs its own checks.

With `KOEN_PARAMS_TRACE=<dir>` set, each process writes `<dir>/<pid>.json` at exit: its command
line and every key it read after loading (validation reads everything and is not counted).
The deps tests compare that with the `params` a stage declares in `dvc.yaml`.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import json
import os
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml
from pydantic_core import ErrorDetails, PydanticCustomError

T = TypeVar("T")
TRACE_ENV = "KOEN_PARAMS_TRACE"
# what a value is not, by pydantic's error type
EXPECTED = {"int_type": "int", "float_type": "float", "bool_type": "bool", "string_type": "str",
            "list_type": "a list", "dict_type": "a mapping", "dataclass_type": "a mapping"}
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


def follows(key: str, file: str | None = None) -> Any:
    """A field that is not a key of its own: it follows `key` (a path; with `file`, the file of
    that name in it), so params.yaml says each path once. Filled by `follow` after parsing."""
    return dataclasses.field(default=Path(), kw_only=True,
                             metadata={"follows": key, "file": file})


def _follows(cls: type, name: str) -> str | None:
    fields = object.__getattribute__(cls, "__dataclass_fields__")
    return fields[name].metadata.get("follows") if name in fields else None


class Section:
    """Base of the params dataclasses: reading a leaf value records its full key (a field that
    follows another key records that key: it is what the stage depends on)."""

    # no unknown key, and no coercion beyond JSON's (see `parse`)
    __pydantic_config__ = pydantic.ConfigDict(extra="forbid", strict=True)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _refuse_followers(cls, value: Any) -> Any:
        """A `follows` field has a default, so pydantic would take it as a key."""
        for name in value if isinstance(value, dict) else ():
            if (source := _follows(cls, name)) is not None:
                raise PydanticCustomError("follows", "follows {source}",
                                          {"name": name, "source": source})
        return value

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if (_read is not None and not isinstance(value, Section | KeyedSection)
                and name in object.__getattribute__(self, "__dataclass_fields__")):
            _record(_follows(type(self), name)
                    or _join(object.__getattribute__(self, "_where"), name))
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
    """Build dataclass `cls` (at dotted key `where`) from a mapping, checking keys and types.

    The mapping is checked as the JSON it would be (a YAML date or a Path as its text): strict
    JSON mode takes a string for a path and an integer for a float and coerces nothing else,
    where strict Python mode would want Path and dataclass instances."""
    try:
        obj = _adapter(cls).validate_json(json.dumps(value, default=str))
    except pydantic.ValidationError as err:
        # an unknown key says more than the missing one it may be a typo of
        first = min(err.errors(), key=lambda e: e["type"] != "unexpected_keyword_argument")
        raise ParamsError(f"params.yaml: {_message(cls, where, first)}") from None
    _place(obj, where)
    return obj


@functools.cache
def _adapter(cls: type) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(cls)


def _place(section: Section, where: str) -> None:
    """Give `section` and each one inside it its dotted key, then run its own checks (`validate`),
    innermost first: pydantic built them knowing no keys."""
    for f in dataclasses.fields(section):  # type: ignore[arg-type]
        value, key = object.__getattribute__(section, f.name), _join(where, f.name)
        if f.name in _entries(type(section)):
            for name, entry in value.items():
                _place(entry, f"{key}.{name}")
            object.__setattr__(section, f.name, KeyedSection(key, value))
        elif isinstance(value, Section):
            _place(value, key)
    object.__setattr__(section, "_where", where)
    check = getattr(section, "validate", None)
    if check is not None:
        check(where)


@functools.cache
def _entries(cls: type) -> frozenset[str]:
    """The fields of `cls` that map names to sections (e.g. `merges`), read as a KeyedSection."""
    return frozenset(name for name, tp in typing.get_type_hints(cls).items()
                     if typing.get_origin(tp) is dict
                     and dataclasses.is_dataclass(typing.get_args(tp)[1]))


def _message(cls: type, where: str, error: ErrorDetails) -> str:
    """A pydantic error as one line naming the dotted key."""
    kind, loc, value = error["type"], error["loc"], error["input"]
    key, tp = _locate(cls, where, loc)
    if kind == "missing":
        return f"missing key '{key}'"
    if kind == "follows":
        ctx = error.get("ctx", {})
        return (f"'{_join(key, ctx['name'])}' is not a key of its own: it follows "
                f"'{ctx['source']}'; set that key instead")
    if kind == "unexpected_keyword_argument":
        parent, section = _locate(cls, where, loc[:-1])
        allowed = sorted(f.name for f in dataclasses.fields(section) if "follows" not in f.metadata)
        return (f"unknown key '{key}'; allowed keys{' in ' + parent if parent else ''}: "
                f"{', '.join(allowed)}")
    if kind == "literal_error" and typing.get_origin(tp) is typing.Literal:
        return f"'{key}' is {value!r}; allowed: {', '.join(map(str, typing.get_args(tp)))}"
    if kind in EXPECTED:
        return f"'{key or 'top level'}' must be {EXPECTED[kind]}, got {value!r}"
    return f"'{key}' is {value!r}: {error['msg']}"


def _locate(tp: Any, key: str, loc: tuple[int | str, ...]) -> tuple[str, Any]:
    """The dotted key and the type that pydantic's `loc` points at, from `tp` at `key`; the name
    of a union's member in `loc` is no key."""
    for part in loc:
        tp = _required(tp)
        if isinstance(part, int):
            key, tp = f"{key}[{part}]", typing.get_args(tp)[0]
        elif dataclasses.is_dataclass(tp):
            key, tp = _join(key, part), typing.get_type_hints(tp).get(part)
        elif typing.get_origin(tp) is dict:
            key, tp = _join(key, part), typing.get_args(tp)[1]
    return key, _required(tp)


def _required(tp: Any) -> Any:
    """`X | None` as X: pydantic names no member of such a union."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    union = typing.get_origin(tp) in (typing.Union, types.UnionType)
    return args[0] if union and len(args) == 1 else tp


def follow(section: Section, root: Section) -> None:
    """Fill every `follows` field under `section` from the key it follows in `root`."""
    for f in dataclasses.fields(section):  # type: ignore[arg-type]
        value = object.__getattribute__(section, f.name)
        if "follows" in f.metadata:
            source: Any = root
            for part in f.metadata["follows"].split("."):
                source = object.__getattribute__(source, part)
            file = f.metadata["file"]
            object.__setattr__(section, f.name, source / file if file else source)
        elif isinstance(value, Section):
            follow(value, root)
