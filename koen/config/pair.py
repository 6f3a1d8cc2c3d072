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

from koen.config.languages import ENGLISH, LANGUAGES, Pair, help_text_dir
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

    token = rf"(?:(?:{code}){{3}}|(?:{code}))"  # a code or a shorthand
    text = re.sub(rf"(?<![\w-]){token}(?:\+{token})+(?![\w/])", spell, text)  # mixes
    text = re.sub(rf"(?<![\w-])(?:{code}){{3}}(?![\w/])", spell, text)  # codes, also in paths
    text = re.sub(r"^languages:[^\n#]*(#[^\n]*)?\n(?:- [^\n]*\n)*",  # flow or block list
                  lambda m: f"languages: [{new.lang}, {new.other}]".ljust(COMMENTS - 1)
                  + f" {m.group(1) or '# the pair studied (docs/languages.md)'}\n", text,
                  flags=re.MULTILINE)
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


def spelled_in(raw: dict) -> Pair:
    """The pair params.yaml's compositions are spelled in: `languages`, or the codes of `grid`
    where `languages` was changed alone (`dvc exp run -S languages=...`)."""
    stated = Pair.of(raw.get("languages", ["ko", "en"]))
    codes = list(dict.fromkeys(c[i:i + 2] for c in raw["grid"] for i in (0, 2, 4)))
    if set(codes) <= set(stated.codes):
        return stated
    if len(codes) != 2:
        raise ParamsError(f"grid: {raw['grid']} is not spelled in two languages' codes")
    other = "en" if "en" in codes else codes[1]
    return Pair.of([next(c for c in codes if c != other), other])


def help_code(pair: Pair) -> str:
    """The language the help text pairs with English."""
    if ENGLISH.code not in pair.codes:
        raise ParamsError(f"languages: the help text pairs a language with English, not "
                          f"{pair.name}; for another pair bring your own data (docs/own-data.md)")
    return pair.twin(ENGLISH.code)


def help_paths(text: str, raw: dict, old: Pair, new: Pair, root: Path) -> str:
    """prepare.data and base_model.check_texts moved from the old pair's help text to the
    new one's, where they point at the old one's."""
    if raw["prepare"]["source"] != "help" or ENGLISH.code not in old.codes:
        return text
    was = help_text_dir(help_code(old))
    if Path(raw["prepare"]["data"]) != was:
        return text
    now = help_text_dir(help_code(new))
    if not (root / now / "paragraphs.jsonl.gz").is_file():
        held = sorted(p.parent.name for p in (root / "data/help").glob("*/paragraphs.jsonl.gz"))
        raise ParamsError(
            f"languages: no committed help text for {new.name} (committed: ko-en in data/raw, "
            f"{', '.join(held) or 'no other'} in data/help); add it with `python "
            f"data/raw/regenerate.py --lang {help_code(new)}` (the LibreOffice help pairs each of "
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
        missing = [c for c in configs if not (source / f"{c}.jsonl").is_file()
                   and not (source / "data" / f"{c}.jsonl").is_file()]
        if not missing:
            continue
        line = re.compile(rf"^  {re.escape(name)}: \{{.*\}}[^\n]*\n", re.MULTILINE)
        if not line.search(text):
            raise ParamsError(f"benchmarks.{name}: {source} lacks Belebele's "
                              f"{' or '.join(configs)}; fetch them or remove the benchmark")
        text = line.sub("", text)
        dropped.append(f"{name} ({b['source']} has no {' / '.join(missing)}: fetch with `python -m "
                       f"koen.data.benchmarks fetch facebook/belebele --out {b['source']} "
                       f"--include {' '.join(f'data/{c}.jsonl' for c in missing)}`, then give "
                       f"the entry back: `{name}: {{format: belebele, source: {b['source']}, "
                       f"split: {b.get('split', 'test')}}}`)")
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
        old = spelled_in(raw)
        root = args.params.resolve().parent
        text = args.params.read_text(encoding="utf-8")
        text = help_paths(respell(text, old, new), raw, old, new, root)
        text, dropped = drop_missing_belebele(text, raw, new, root)
        check = args.params.with_name(f".{args.params.name}.new")
        check.write_text(text, encoding="utf-8")
        try:
            load(check)
            check.replace(args.params)
        finally:
            check.unlink(missing_ok=True)
    except ParamsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.params}: languages {old.name} -> {new.name}")
    for name in dropped:
        print(f"  benchmark dropped: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
