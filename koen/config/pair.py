"""Respell params.yaml for another pair of languages, e.g. Japanese-English:

    python -m koen.config.pair ja en     # then: dvc exp run (or dvc repro)

Sets `languages`; spells every composition in the new pair's codes (`grid`, `composition`,
`merges` and `sweeps`, names and models, `train.align.init` and `direction`, the vocabulary
trim `base_model.vocab`): ko -> ja, en -> en; points `prepare.data` and
`base_model.check_texts` at the pair's committed help text; drops each Belebele benchmark whose
folder lacks the pair's configs, saying so. The file is edited as text, keeping its comments and
layout, so `git diff params.yaml` shows every change, and is checked before it is written.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from koen.config.languages import LANGUAGES, Pair, help_text_dir
from koen.config.parse import ParamsError, load_yaml
from koen.config.schema import PARAMS_FILE, load

COMMENTS = 38  # the column of params.yaml's comments


def respell(text: str, old: Pair, new: Pair) -> str:
    """Every composition code and `+` mix of `old`'s codes in `text`, in `new`'s codes."""
    codes = {old.lang: new.lang, old.other: new.other}
    code = "|".join(map(re.escape, old.codes))
    swap = re.compile(code)

    def spell(m: re.Match[str]) -> str:
        return swap.sub(lambda c: codes[c.group(0)], m.group(0))

    text = re.sub(rf"(?<![\w/-])(?:{code}){{3}}(?![\w/])", spell, text)
    text = re.sub(rf"(?<![\w/-])(?:{code})\+(?:{code})(?![\w/])", spell, text)
    text = re.sub(rf"^languages: \[{old.lang}, {old.other}\]", f"languages: [{new.lang}, "
                  f"{new.other}]", text, flags=re.MULTILINE)
    text = re.sub(rf"^(\s+direction: )({code})\b", lambda m: m.group(1) + codes[m.group(2)], text,
                  flags=re.MULTILINE)
    text = re.sub(rf"^(composition: )({code})(\s)", lambda m: m.group(1) + codes[m.group(2)]
                  + m.group(3), text, flags=re.MULTILINE)
    names = f"{LANGUAGES[new.lang].name}-{LANGUAGES[new.other].name}"
    title = "Retrieval report" + (f" ({names}, {new.name})" if new.name != "ko-en" else "")
    return put(text, "  title", r"Retrieval report(?: \([^)#\n]*\))?", title)


def put(text: str, key: str, old: str, value: str) -> str:
    """`key: <old>` (a regex) set to `value`, its comment kept in params.yaml's column."""
    return re.sub(rf"^({key}: ){old}( *)(?=#|$)", lambda m: m.group(1) + value + " " * max(
        1, COMMENTS - len(m.group(1)) - len(value)) * bool(m.group(2)), text, flags=re.MULTILINE)


def help_paths(text: str, raw: dict, old: Pair, new: Pair, root: Path) -> str:
    """prepare.data and base_model.check_texts moved from the old pair's help text to the
    new one's, where they point at the old one's."""
    was, now = help_text_dir(old.lang), help_text_dir(new.lang)
    if raw["prepare"]["source"] != "help" or Path(raw["prepare"]["data"]) != was:
        return text
    if new.other != "en" or not (root / now / "paragraphs.jsonl.gz").is_file():
        held = sorted(p.parent.name for p in (root / "data/help").glob("*/paragraphs.jsonl.gz"))
        raise ParamsError(
            f"languages: no committed help text for {new.name} (committed: ko-en in data/raw, "
            f"{', '.join(held) or 'no other'} in data/help); add it with `python "
            f"data/raw/regenerate.py --lang {new.lang}` (the LibreOffice help pairs each of "
            f"{', '.join(c for c in LANGUAGES if c != 'en')} with English)")
    for key, tail in (("data", ""), ("check_texts", "/paragraphs.jsonl.gz")):
        text = put(text, f"  {key}", re.escape(f"{was}{tail}"), f"{now}{tail}")
    return text


def drop_missing_belebele(text: str, raw: dict, new: Pair, root: Path) -> tuple[str, list[str]]:
    """Remove each one-line Belebele entry of `benchmarks` whose folder lacks a config."""
    dropped = []
    for name, b in raw["benchmarks"].items():
        if b.get("format") != "belebele":
            continue
        configs = [LANGUAGES[c].belebele for c in new.codes]
        source = root / b["source"]
        if all((source / f"{c}.jsonl").is_file() or (source / "data" / f"{c}.jsonl").is_file()
               for c in configs):
            continue
        line = re.compile(rf"^  {re.escape(name)}: \{{.*\}}[^\n]*\n", re.MULTILINE)
        if not line.search(text):
            raise ParamsError(f"benchmarks.{name}: {source} lacks Belebele's "
                              f"{' or '.join(configs)}; fetch them or remove the benchmark")
        text = line.sub("", text)
        dropped.append(f"{name} ({b['source']} has no {' / '.join(configs)}: fetch with `python -m "
                       f"koen.data.benchmarks fetch facebook/belebele --out {b['source']} "
                       f"--include {' '.join(f'data/{c}.jsonl' for c in configs)}`)")
    return text, dropped


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m koen.config.pair",
                                  description=__doc__.split("\n\n")[0])
    cli.add_argument("lang", help="the language studied, e.g. ja")
    cli.add_argument("other", nargs="?", default="en", help="the one contrasted with (en)")
    cli.add_argument("--params", type=Path, default=PARAMS_FILE)
    args = cli.parse_args(argv)
    try:
        new = Pair.of([args.lang, args.other])
        raw = load_yaml(args.params)
        old = Pair.of(raw["languages"])
        root = args.params.resolve().parent
        text = args.params.read_text(encoding="utf-8")
        text = help_paths(respell(text, old, new), raw, old, new, root)
        text, dropped = drop_missing_belebele(text, raw, new, root)
        check = args.params.with_name(f".{args.params.name}.new")
        check.write_text(text, encoding="utf-8")
        try:
            load(check)
        except ParamsError:
            check.unlink()
            raise
        check.replace(args.params)
    except ParamsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.params}: languages {old.name} -> {new.name}")
    for name in dropped:
        print(f"  benchmark dropped: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
