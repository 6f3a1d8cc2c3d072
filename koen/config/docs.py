"""docs/configuration.md, generated from the typed schema and the defaults in params.yaml.

    python -m koen.config.docs           # write docs/configuration.md
    python -m koen.config.docs --check   # exit 1 if it differs from what the schema gives

Each key's meaning is the docstring under its field in `koen/config/schema.py`, its allowed
values come from the field's type (and the checks the schema runs), its default from
params.yaml. The tests fail when the page, the schema and params.yaml disagree.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from koen.config import schema
from koen.config.parse import load_yaml

PAGE = Path("docs/configuration.md")
TYPE_WORDS = {bool: "true, false", int: "an integer", float: "a number", str: "text",
              Path: "a path", Any: "any value"}

# Keys that name the same folder by default but may differ on purpose: a choice, not a
# repetition (the repetitions are `follows` fields of the schema, not keys at all).
AGREE: list[tuple[tuple[str, ...], str]] = [
    (("base_model.out", "index.shift.model"),
     "the model Shift corrects: by default the base model (`base_model` writes it); name another "
     "model folder to correct that one instead"),
    (("prepare.out", "benchmarks.<name>.source"),
     "the prepared data as a benchmark: the `source` of a `format: prepared` benchmark "
     "(`lohelp`) is the folder `prepare` writes; another `source` evaluates other data"),
]


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (Sphinx's attribute docstrings), a base
    dataclass's for the fields it inherits."""
    docs = {}
    for base in reversed(cls.__mro__[1:]):
        if dataclasses.is_dataclass(base):
            docs |= field_docs(base)
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, after in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)):
            docs[node.target.id] = " ".join(str(after.value.value).split())
    return docs


def allowed(tp: Any) -> str:
    """The values a type admits, in words."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        words = [allowed(a) for a in args if a is not type(None)]
        return " or ".join(words) + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return ", ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"a list of {plural(args[0])}"
    if origin is dict:
        inner = args[1]
        return ("a mapping of names to entries" if dataclasses.is_dataclass(inner)
                else f"a mapping of names to {plural(inner)}")
    if dataclasses.is_dataclass(tp):
        return "a section"
    return TYPE_WORDS.get(tp, getattr(tp, "__name__", str(tp)))


def plural(tp: Any) -> str:
    """The values of a list or mapping, in words: `integers`, `texts`, `values` (any)."""
    if tp is Any:
        return "values"
    return f"{allowed(tp).removeprefix('a ').removeprefix('an ')}s"


def shown(value: Any) -> str:
    """A params.yaml value in one cell."""
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
        return f"`{text}`" if len(text) <= 60 else f"{len(value)} entries"
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def rows(cls: type, values: dict[str, Any] | None, prefix: str) -> list[list[str]]:
    """Table rows of a section's leaf keys, and of the sections inside it, depth first."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    out: list[list[str]] = []
    nested: list[tuple[type, Any, str]] = []
    for field in dataclasses.fields(cls):
        if "follows" in field.metadata:
            continue  # not a key: see `followers`
        tp, key = hints[field.name], f"{prefix}{field.name}"
        value = values.get(field.name) if values is not None else None
        if dataclasses.is_dataclass(tp):
            nested.append((tp, value, f"{key}."))
            continue
        default = "(none)" if values is None else shown(value)
        if values is None and field.default is not dataclasses.MISSING:
            default = shown(field.default)
        out.append([f"`{key}`", docs.get(field.name, ""), allowed(tp), default])
        inner = typing.get_args(tp)[1] if typing.get_origin(tp) is dict else None
        if inner is not None and dataclasses.is_dataclass(inner):
            nested.append((inner, None, f"{key}.<name>."))
        elif typing.get_origin(tp) in (typing.Union, types.UnionType):
            member = next((a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)), None)
            if member is not None:
                nested.append((member, None, f"{key}."))
    for tp, value, key in nested:
        out += rows(tp, value, key)
    return out


def page(params: dict[str, Any]) -> str:
    """The Markdown page: the top-level keys, then one table per section."""
    hints = typing.get_type_hints(schema.Params)
    docs = field_docs(schema.Params)
    top = [f for f in dataclasses.fields(schema.Params) if not dataclasses.is_dataclass(
        hints[f.name]) and not _entries(hints[f.name])]
    lines = ["# Configuration", "",
             "Every key of `params.yaml`: what it means, the values it takes and its default. "
             "Change one for an experiment with `dvc exp run -S key=value`, or in `params.yaml` "
             "for good; every stage checks the whole file first and names a bad key and what is "
             "allowed. `auto` values are resolved per device ([GPU](gpu.md#run)).", "",
             "This page is generated from the typed schema (`koen/config/schema.py`) and "
             "`params.yaml` by `python -m koen.config.docs`; a test fails when they disagree.",
             "", "## Top level", ""]
    lines += table([[f"`{f.name}`", docs[f.name], allowed(hints[f.name]),
                     shown(params.get(f.name))] for f in top])
    for f in dataclasses.fields(schema.Params):
        tp = hints[f.name]
        if f in top:
            continue
        lines += ["", f"## {f.name}", "", docs[f.name], ""]
        if dataclasses.is_dataclass(tp):
            lines += table(rows(tp, params.get(f.name), f"{f.name}."))
        else:
            names = ", ".join(f"`{n}`" for n in params.get(f.name) or {}) or "none"
            lines += [f"Defaults: {names}. Each entry:", ""]
            lines += table(rows(_entries(tp), None, f"{f.name}.<name>."))
    lines += ["", "## Paths said once", "",
              "A path one stage writes and another reads is one key; the stages that read it "
              "follow that key (and declare it in `dvc.yaml`), so changing it moves them all. "
              "These are what they follow; they are not keys of `params.yaml`, and setting one "
              "is an error that names the key to set.", "",
              "| path | what it is | follows | default |", "|---|---|---|---|"]
    for what, key, file, doc in followers(schema.Params, ""):
        value = _value(params, key)
        lines.append(f"| `{what}` | {doc} | `{key}`{f' / `{file}`' if file else ''} | "
                     f"{shown(f'{value}/{file}' if file else value)} |")
    lines += ["", "## Keys that may agree", "",
              "These keys name the same folder by default, and may differ on purpose.", "",
              "| keys | what they name | default |", "|---|---|---|"]
    for keys, why in AGREE:
        for key in keys:
            _schema_key(key)
        lines.append(f"| {', '.join(f'`{k}`' for k in keys)} | {why} | "
                     f"{shown(_value(params, keys[0]))} |")
    return "\n".join(lines) + "\n"


def followers(cls: type, prefix: str) -> list[tuple[str, str, str | None, str]]:
    """(field, the key it follows, the file in it, its doc) of every `follows` field."""
    out = []
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if "follows" in field.metadata:
            out.append((f"{prefix}{field.name}", field.metadata["follows"],
                        field.metadata["file"], docs.get(field.name, "")))
        elif dataclasses.is_dataclass(hints[field.name]):
            out += followers(hints[field.name], f"{prefix}{field.name}.")
    return out


def _value(params: dict[str, Any], key: str) -> Any:
    """The params.yaml value of a dotted key (null where the file lacks it)."""
    value: Any = params
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _schema_key(key: str) -> None:
    """Fail unless the schema has the dotted key (`<name>`: any entry of a mapping)."""
    tp: Any = schema.Params
    for part in key.split("."):
        if part == "<name>" and _entries(tp) is not None:
            tp = _entries(tp)
        elif dataclasses.is_dataclass(tp) and part in typing.get_type_hints(tp):
            tp = typing.get_type_hints(tp)[part]
        else:
            raise KeyError(f"{key}: not a key of the schema; update AGREE in koen/config/docs.py")


def _entries(tp: Any) -> type | None:
    """The entry type of a mapping of named entries (`merges`, `sweeps`, `benchmarks`)."""
    if typing.get_origin(tp) is dict and dataclasses.is_dataclass(typing.get_args(tp)[1]):
        return typing.get_args(tp)[1]
    return None


def table(body: list[list[str]]) -> list[str]:
    cells = [[c.replace("|", "\\|") for c in row] for row in body]
    return ["| key | meaning | allowed | default |", "|---|---|---|---|",
            *(f"| {' | '.join(row)} |" for row in cells)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m koen.config.docs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    text = page(load_yaml(schema.PARAMS_FILE))
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.is_file() else ""
        if current != text:
            print(f"{PAGE} is stale: run python -m koen.config.docs", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
