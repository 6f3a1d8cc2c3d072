"""The README and docs/ say only what exists: links, modules, stages, files and the headline
figures are checked against the repository, so a renamed stage or a moved number fails here."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from koen.report.robustness import calls, mark

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
REGRESSION = ROOT / "metrics" / "regression" / "fp32.yaml"  # the committed run's set
# the committed run's tests first, then the runs of the study on other kinds of machine; read as
# git holds them (at_head): `make repro` on a bf16 machine rewrites metrics/significance.json
SIGNIFICANCE = ["metrics/significance.json", "metrics/reference/fp32-avx2/significance.json",
                "metrics/reference/bf16-avx512/significance.json",
                "metrics/reference/bf16-amx/significance.json"]

FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE_CODE = re.compile(r"`([^`]+)`")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# `python -m x`, `.venv/bin/python3 -m x`, options before -m (`python -X importtime -m x`)
PYTHON_M = re.compile(r"\bpython[\d.]*(?:\s+-[A-Za-ln-zA-Z]\w*(?:\s+(?![-\"'])\S+)?)*?\s+-m\s+"
                      r"([A-Za-z_][\w.]*)(?![\w.]*<)")
DVC_CMD = re.compile(r"\bdvc\s+(repro|exp\s+run)\b(.*)")
DVC_VALUE_OPTIONS = {"-S", "--set-param", "-n", "--name", "-m", "--message", "-j", "--jobs",
                     "--glob"}
# paths inside the repository that a page may name in code: they must exist (a placeholder
# `<x>` or a glob is not a path; `commit:path` names a file of git history)
REPO_PATH = re.compile(r"(?<![\w/.:-])((?:bench|tests|koen|stages|docs|data/raw|\.ci)/[\w./-]*\w"
                       r"|metrics/(?:bench/)?[\w.-]+\.(?:json|md|yaml|png))(?![\w<*{])")
TEST_FILE = re.compile(r"(?<![\w/])(test_\w+\.py)\b")  # a bare test module: under tests/
ISSUE_REF = re.compile(r"(?<![\w&/#])#\d+\b")


def split_code(text: str) -> tuple[list[str], str]:
    """The fenced code blocks of a page (each one string) and the prose outside them."""
    blocks, prose, current = [], [], None
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            if current is None:
                current = []
            else:
                blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
        else:
            prose.append(line)
    return blocks, "\n".join(prose)


def inline_code(prose: str) -> list[str]:
    return [span.replace("\n", " ") for span in INLINE_CODE.findall(prose)]


def code_of(page: Path) -> list[str]:
    """Every piece of code on a page: fenced blocks (continuation lines joined) and inline spans."""
    blocks, prose = split_code(page.read_text(encoding="utf-8"))
    return [block.replace("\\\n", " ") for block in blocks] + inline_code(prose)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    _, prose = split_code(page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for line in prose.splitlines():
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return frozenset(out)


def links(page: Path) -> list[str]:
    _, prose = split_code(page.read_text(encoding="utf-8"))
    prose = INLINE_CODE.sub("", prose)
    return [t for t in LINK.findall(prose) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def at_head(path: str) -> str:
    """A file as git holds it at HEAD, whatever a run in this workspace wrote over it."""
    return subprocess.run(["git", "show", f"HEAD:{path}"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout


def test_the_pages_exist_and_the_readme_is_short():
    assert (ROOT / "docs").is_dir() and len(PAGES) > 1
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines; the details belong in docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            where = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
            broken.append(f"{target}: no file {where}")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target}: no heading #{fragment} in {file.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def module_exists(name: str) -> bool:
    """Whether `python -m name` finds a module, without importing any of it: the top-level
    package is located by importlib, the rest by its files (a package needs a __main__)."""
    parts = name.split(".")
    spec = importlib.util.find_spec(parts[0])
    if spec is None:
        return False
    locations = [Path(p) for p in (spec.submodule_search_locations or [])]
    if len(parts) == 1:
        return not locations or any((loc / "__main__.py").exists() for loc in locations)
    for i, part in enumerate(parts[1:], start=2):
        last = i == len(parts)
        found = []
        for loc in locations:
            if last and (loc / f"{part}.py").exists():
                return True
            if (loc / part).is_dir():
                found.append(loc / part)
        if not found:
            return False
        locations = found
    return any((loc / "__main__.py").exists() for loc in locations)


def test_module_exists_tells_modules_from_packages_and_missing_names(tmp_path, monkeypatch):
    for name in ("docpkg/__init__.py", "docpkg/tool.py", "docpkg/cli/__init__.py",
                 "docpkg/cli/__main__.py", "docpkg/lib/__init__.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("raise RuntimeError('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert module_exists("docpkg.tool")
    assert module_exists("docpkg.cli")  # a package with a __main__
    assert not module_exists("docpkg.lib")  # a package without one
    assert not module_exists("docpkg.nothing")
    assert not module_exists("no_such_top_level_package")
    assert module_exists("pytest")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_python_module_named_exists(page):
    named = {m for code in code_of(page) for m in PYTHON_M.findall(code)}
    missing = sorted(m for m in named if not module_exists(m.rstrip(".")))
    assert not missing, f"{page.name} runs `python -m` on modules that do not exist: {missing}"


@cache
def stage_names() -> frozenset[str]:
    """The stages of dvc.yaml as DVC expands them (foreach and matrix: `train@kokoen`), and the
    names of their definitions (`train`, `index`), for `<placeholder>` forms."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        names = {stage.addressing for stage in repo.index.stages}
    definitions = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return frozenset(names | {f"{name}@*" for name in definitions})


def dvc_targets(code: str) -> list[str]:
    """Stage names given to `dvc repro` and `dvc exp run` in a piece of code."""
    targets = []
    for line in code.splitlines():
        line = line.split(" #", 1)[0]
        for m in DVC_CMD.finditer(line):
            try:
                words = shlex.split(m.group(2))
            except ValueError:
                words = m.group(2).split()
            skip = False
            for word in words:
                if skip:
                    skip = False
                elif word in DVC_VALUE_OPTIONS:
                    skip = True
                elif word in {"&&", "||", ";", "|"}:
                    break
                elif not word.startswith("-"):
                    targets.append(word.removeprefix("dvc.yaml:"))
    return targets


def test_dvc_targets_reads_stage_names_past_options():
    assert dvc_targets("dvc repro -f register  # again") == ["register"]
    assert dvc_targets("dvc exp run -S 'a=[1, 2]' -n x train@kokoen") == ["train@kokoen"]
    assert dvc_targets("dvc exp run -S composition=ko+en") == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_dvc_stage_named_exists(page):
    unknown = []
    for code in code_of(page):
        for target in dvc_targets(code):
            name = re.sub(r"@.*<.*", "@*", target)  # train@<code> names the definition
            if "<" in name:
                continue
            if name not in stage_names():
                unknown.append(target)
    assert not unknown, f"{page.name} names stages dvc.yaml does not have: {sorted(set(unknown))}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_repository_path_named_in_code_exists(page):
    code = code_of(page)
    named = {m for c in code for m in REPO_PATH.findall(c)}
    named |= {f"tests/{m}" for c in code for m in TEST_FILE.findall(c)}
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"{page.name} names files that are not in the repository: {missing}"


def number(cell: str) -> float:
    m = re.search(r"-?\d+(?:\.\d+)?", cell.replace("**", ""))
    assert m, f"no number in table cell {cell!r}"
    return float(m.group())


def delta(cell: str) -> float | None:
    m = re.search(r"\(([+-]\d+(?:\.\d+)?)", cell)
    return float(m.group(1)) if m else None


def headline_rows() -> dict[str, tuple[str, str]]:
    """The README's table `| System | CLIR OVR | Mono OVR |`: system -> the two cells."""
    rows: dict[str, tuple[str, str]] = {}
    inside = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[:3] == ["System", "CLIR OVR", "Mono OVR"]:
            inside = True
        elif inside and line.startswith("|"):
            if not set(cells[0]) <= set("-: "):
                rows[cells[0]] = (cells[1], cells[2])
        elif inside:
            break
    return rows


def test_the_readme_headline_table_equals_the_regression_file():
    expected = yaml.safe_load(REGRESSION.read_text(encoding="utf-8"))["systems"]
    rows = headline_rows()
    assert set(rows) == set(expected), (
        f"README table systems {sorted(rows)} differ from metrics/regression/fp32.yaml's "
        f"{sorted(expected)}")
    wrong = []
    for system, cells in rows.items():
        for cell, key in zip(cells, ("clir_ovr", "mono_ovr"), strict=True):
            if abs(number(cell) - expected[system][key]) > 0.005:
                wrong.append(f"{system} {key}: README {number(cell)}, "
                             f"regression.yaml {expected[system][key]}")
            change = delta(cell)
            if change is not None and abs(change - (expected[system][key]
                                                    - expected["base"][key])) > 0.015:
                wrong.append(f"{system} {key}: change {change:+.2f} against base is not "
                             f"{expected[system][key] - expected['base'][key]:+.2f}")
    assert not wrong, "; ".join(wrong)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_issue_numbers_and_no_files_outside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    issues = ISSUE_REF.findall(text)
    assert not issues, f"{page.name} cites issue numbers: {issues}"
    assert "REFERENCE.md" not in text, f"{page.name} cites REFERENCE.md, not in the repository"
    outside = outside_paths(page, text)
    assert not outside, f"{page.name} names paths outside the repository: {outside}"


# a relative path climbing out of its folder, or an absolute path of one machine
RELATIVE = re.compile(r"(?<![\w.])((?:\.\./)+[\w.-]+)")
MACHINE_PATH = re.compile(r"(?<![\w.:/])(/(?:work|root|home|tmp|opt)/[\w./-]+)")


def outside_paths(page: Path, text: str) -> list[str]:
    climbing = [p for p in RELATIVE.findall(text)
                if not (page.parent / p).resolve().is_relative_to(ROOT)]
    return climbing + MACHINE_PATH.findall(text)


def test_paths_outside_the_repository_are_found():
    page = ROOT / "docs/x.md"
    assert outside_paths(page, "see ../../shared/runs and /work/main/x, ../README.md") == [
        "../../shared", "/work/main/x"]
    assert outside_paths(page, "[a](../metrics/report.md), /usr/bin/python, /tmp") == []


# -- names in prose: stages, params keys -------------------------------------------------------

STAGE_LIKE = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)(?:@(?P<item>\S+))?$")
STAGE_WORDS = ("index", "evaluate", "benchmark", "train", "merge", "sweep", "seed", "report",
               "register", "prepare")
KEY_LIKE = re.compile(r"^[a-z_]+(?:\.(?:[a-z_0-9]+|<[a-z]+>))+$")
CONFIG_KEY = re.compile(r"^\| `([^`]+)` \|", re.M)


@cache
def stage_definitions() -> frozenset[str]:
    return frozenset(yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"])


@cache
def other_names() -> frozenset[str]:
    """Names a page may write that look like stages: speed records (metrics/bench/<name>.json)
    and the functions and classes of koen/."""
    records = {p.stem for p in (ROOT / "metrics/bench").glob("*.json")}
    defined = {m for p in (ROOT / "koen").rglob("*.py")
               for m in re.findall(r"^\s*(?:def|class) (\w+)", p.read_text(encoding="utf-8"),
                                   re.M)}
    return frozenset(records | defined)


@cache
def params_names() -> frozenset[str]:
    """Every key and section name that params.yaml's schema documents, at any depth."""
    return frozenset(part for key in config_keys() for part in key.split("."))


@cache
def config_keys() -> frozenset[str]:
    """The documented keys (docs/configuration.md, generated from the schema), their sections,
    with any mapping's entry name written `<name>`."""
    keys = set()
    for key in CONFIG_KEY.findall((ROOT / "docs/configuration.md").read_text(encoding="utf-8")):
        key = re.sub(r"<[a-z]+>", "<name>", key)
        parts = key.split(".")
        keys |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return frozenset(keys)


def unknown_stages(spans: list[str]) -> list[str]:
    """Spans written like a stage (`evaluate_shift@<benchmark>`, `index_bm25`) that name no
    stage definition of dvc.yaml. A bare word counts when it starts with a stage's verb and is
    no params key (`train_triplets` is one), speed record or function of koen/."""
    bad = []
    for span in spans:
        m = STAGE_LIKE.match(span)
        if not m:
            continue
        name, item = m.group("name"), m.group("item")
        if item is not None:
            if name not in stage_definitions():
                bad.append(span)
        elif (name.split("_")[0] in STAGE_WORDS and "_" in name
              and name not in stage_definitions() and name not in params_names()
              and name not in other_names()):
            bad.append(span)
    return bad


def unknown_keys(spans: list[str]) -> list[str]:
    """Spans written `section.key` whose section is one of params.yaml's and whose key is not
    in the schema (a mapping's entries may be named, `merges.grid-avg.weights`)."""
    sections = {k for k in config_keys() if "." not in k}
    bad = []
    for span in spans:
        if not KEY_LIKE.match(span) or span.split(".")[0] not in sections:
            continue
        if span in config_keys():
            continue
        generic = re.sub(r"<[a-z]+>", "<name>", span)
        parts = generic.split(".")
        named = {".".join(parts[:i] + ["<name>"] + parts[i + 1:]) for i in range(1, len(parts))}
        if generic not in config_keys() and not named & config_keys():
            bad.append(span)
    return bad


def test_the_name_checks_catch_the_old_stage_names_and_unknown_keys():
    assert unknown_stages(["index_shift", "index@<system>", "evaluate@<system>", "index_bm25",
                           "benchmark_belebele"]) == ["index_shift", "index@<system>",
                                                      "evaluate@<system>", "index_bm25",
                                                      "benchmark_belebele"]
    assert unknown_stages(["evaluate_shift@<benchmark>", "train@kokoen", "train_experiment",
                           "benchmark@mine", "prepare", "train_triplets", "report.md"]) == []
    assert unknown_keys(["train.precision", "merges.<name>.weights", "merges.grid-avg.models",
                         "index.shift.alpha", "numpy.float32"]) == []
    assert unknown_keys(["train.precison", "evaluate.indexes", "merges.<name>.wieghts"]) == [
        "train.precison", "evaluate.indexes", "merges.<name>.wieghts"]


PROSE_PAGES = [*PAGES, ROOT / "bench/LOG.md"]


@pytest.mark.parametrize("page", PROSE_PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_stage_and_params_key_named_in_prose_exists(page):
    _, prose = split_code(page.read_text(encoding="utf-8"))
    spans = inline_code(prose)
    assert not unknown_stages(spans), f"{page.name} names stages dvc.yaml does not define: " \
        f"{sorted(set(unknown_stages(spans)))}"
    assert not unknown_keys(spans), f"{page.name} names params keys the schema does not have: " \
        f"{sorted(set(unknown_keys(spans)))}"


# -- figures that several pages state ------------------------------------------------------------

NEAR = 0.015  # a figure this close to a committed one, but not it, is a stale or misrounded copy
# a figure, not a size, time, share or ratio
NUMBER_AFTER = re.compile(r"[+−-]?\d+\.\d\d\b(?!\s*(?:[GMK]i?B|s\b|ms\b|%|x\b|min\b|h\b))")


@cache
def committed_figures() -> dict[str, set[float]]:
    """Per system, every figure the committed runs give: the headline figures of each
    precision's set, the OVRs of metrics/overall.json, and the changes the significance tests
    measured against base or a parent (as the pages write them: rounded, and as the difference
    of two rounded OVRs)."""
    figures: dict[str, set[float]] = {}
    sets = [yaml.safe_load(p.read_text(encoding="utf-8"))["systems"]
            for p in sorted((ROOT / "metrics/regression").glob("*.yaml"))]
    for expected in sets:
        for system, values in expected.items():
            found = figures.setdefault(system, set())
            found |= {abs(v) for v in values.values()}
            found |= {abs(round(values[k] - expected["base"][k], 2)) for k in values
                      if k in expected.get("base", {})}
    for file in SIGNIFICANCE:
        for key, test in json.loads(at_head(file)).items():
            if "delta" in test and " vs " in key:
                system, other = key.split("/", 1)[1].split(" vs ")
                for name in (system, other.split("/")[0]):  # "a against b +0.37": either
                    figures.setdefault(name, set()).add(abs(round(test["delta"], 2)))
    return figures


def near_misses(text: str) -> list[str]:
    """Figures written after a system's name, before the next name or the sentence's end, that
    are a hair off every figure the committed runs give that system. Tables and the sections on
    training seeds and on earlier runs quote other runs: skipped."""
    known = committed_figures()
    names = sorted(known, key=len, reverse=True)
    system = re.compile(r"(?<![\w+~-])(" + "|".join(map(re.escape, names)) + r")(?![\w+~-])")
    bad = []
    other_runs = False
    for line in text.splitlines():
        if line.startswith("#"):
            other_runs = bool(re.search(r"seed|earlier|log", line, re.I))
        if other_runs or line.lstrip().startswith("|"):
            continue
        found = list(system.finditer(line))
        for i, m in enumerate(found):
            after = found[i + 1] if i + 1 < len(found) else None
            end = min(m.end() + 80, after.start() if after else len(line))
            window = re.split(r"[.;:]\s", line[m.end():end])[0]
            for n in NUMBER_AFTER.findall(window):
                value = abs(float(n.replace("−", "-")))
                values = known[m.group(1)]
                if all(abs(value - v) > 0.005 for v in values) and any(
                        abs(value - v) <= NEAR for v in values):
                    bad.append(f"{m.group(1)} {n}")
    return bad


def test_near_misses_are_found_and_exact_copies_pass():
    assert near_misses("base Mono 71.10 and koenen+base +8.93") == ["base 71.10",
                                                                   "koenen+base +8.93"]
    assert near_misses("base Mono 71.11, koenen+base (+8.91†); koenen at 54.60") == []


@pytest.mark.parametrize("page", PROSE_PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_system_s_figure_on_any_page_is_the_committed_one(page):
    """A figure written after a system's name is the committed run's (or the bf16 run's),
    exactly, so two pages cannot give it differently."""
    _, prose = split_code(page.read_text(encoding="utf-8"))
    assert not near_misses(prose), f"{page.name}: {near_misses(prose)}"


def test_the_readme_marks_only_calls_that_hold_on_every_machine():
    """† in the README's table is a call significant in every committed run alike (and not
    near the threshold); ° marks one that is not robust; no mark, one significant in none
    (koen.report.robustness over the committed significance files)."""
    runs = [json.loads(at_head(f)) for f in SIGNIFICANCE]
    found = {c.key: c for c in calls(*runs)}
    wrong = []
    for system, cells in headline_rows().items():
        for cell, key in zip(cells, ("clir_ovr", "mono_ovr"), strict=True):
            call = found.get(f"against base/{system} vs base/{key}")
            if call is None:
                continue
            got = "†" if "†" in cell else "°" if "°" in cell else ""
            if got != mark(call):
                wrong.append(f"{system} {key}: README {got or 'no mark'}, robustness "
                             f"{mark(call) or 'no mark'}")
    assert not wrong, "; ".join(wrong)


def test_the_robustness_table_is_what_the_committed_significance_files_give(tmp_path):
    for file in SIGNIFICANCE:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text(at_head(file), encoding="utf-8")
    fresh = subprocess.run([sys.executable, "-m", "koen.report.robustness", *SIGNIFICANCE],
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                           check=True, capture_output=True, text=True).stdout
    assert fresh == at_head("metrics/robustness.md"), \
        "metrics/robustness.md is stale: run the command on its first line"
