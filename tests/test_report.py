from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.text import Text
from mlflow import MlflowClient
from tiny_data import BENCHMARKS, PARAMS, PENDING, write_params

from koen.config.languages import KO_EN
from koen.config.schema import load
from koen.data.benchmarks import Benchmark, write_benchmark
from koen.errors import KoenError
from koen.formats.trec import write_trec_run
from koen.report import report
from koen.report.load import load_metrics
from koen.report.machines import machines_markdown
from koen.report.plots import new_figure, place_labels
from koen.report.significance import bootstrap_ci
from koen.repro.atomic import write_json
from koen.tracking.mlflow_log import mlflow_name
from stages import report as report_stage

DIRECTIONS = ("en-ko", "ko-en", "ko-ko", "en-en")
QUERIES = [f"q{i:02d}" for i in range(20)]
# Queries whose relevant passage each system ranks first (the others: not at all), in every
# direction: kokoen finds all 20, base and koenen+base the same 5, the rest 4 to 6.
FOUND = {"kokoen": 20, "base": 5, "koenen+base": 5, "bm25": 6, "kokoko": 4, "experiment": 6,
         "shift": 5}


def write_benchmark_and_runs(root: Path, bench: str = "lohelp",
                             langs: tuple[str, ...] = ("ko", "en"),
                             directions: tuple[str, ...] = DIRECTIONS) -> None:
    """A converted benchmark of QUERIES (each relevant to its own passage, in `langs`) and
    per-direction TREC runs for the systems of FOUND, as the evaluate stages leave them: the
    report's tests read these."""
    corpus = [{"doc_id": f"{q}-{x}", "sid": q, "lang": x, "page": "p", "section": q,
               "split": "test", "text": f"{q} {x}", "twin": f"{q}-en" if x == "ko" else f"{q}-ko"}
              for q in QUERIES for x in langs]
    queries = [{"qid": q, "split": "test", "kind": "query", "ko": f"{q} 질문", "en": f"{q} ?"}
               for q in QUERIES]
    qrels = [(q, f"{q}-{x}", 1) for q in QUERIES for x in langs]
    write_benchmark(root / BENCHMARKS / bench, bench, "prepared", root, Benchmark(
        [r | ({"twin": ""} if len(langs) == 1 else {}) for r in corpus], queries, qrels, KO_EN))
    for name, found in FOUND.items():
        for d in directions:
            lang = d.split("-")[1]
            run = {q: {f"{q}-{lang}" if i < found else f"x{q}-{lang}": 1.0}
                   for i, q in enumerate(QUERIES)}
            write_trec_run(root / PARAMS["evaluate"]["runs_dir"] / bench / name / f"{d}.trec",
                           run, "t")


def metrics(en_ko, ko_en, ko_ko, en_en, multi=(60.0, 70.0, 10.0, 20.0, 40.0)) -> dict:
    """The evaluate stage's metrics of one system on one benchmark (None: not measured)."""
    values = dict(zip(DIRECTIONS, (en_ko, ko_en, ko_ko, en_en), strict=True))
    out = {f"{d}/ndcg@10": v for d, v in values.items() if v is not None} | {"queries": 600}
    if multi:
        ko, en, comp_ko, comp_en, inclination = multi
        out |= {"multi/ko/max@r_norm": ko, "multi/en/max@r_norm": en, "multi/ko/comp@10": comp_ko,
                "multi/en/comp@10": comp_en, "multi/ko/inclination": inclination,
                "multi/gap": round(en - ko, 2)}
    return out


def write_metrics(root: Path, system: str, values: dict, bench: str = "lohelp") -> None:
    write_json(root / "metrics/eval" / bench / f"{system}.json", values)


@pytest.fixture
def evaluated(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    write_params(tmp_path, sweeps={})  # the sweeps' report: tests/test_frontier.py, pipeline
    systems = {"kokoen": metrics(85.26, 79.34, 90.55, 95.81, (70.0, 71.0, 30.0, 35.0, 20.0)),
               "base": metrics(82.28, 77.52, 92.87, 95.79),
               "koenen+base": metrics(89.02, 79.34, 91.0, 94.17, (75.0, 74.0, 50.0, 45.0, 25.0)),
               "bm25": metrics(0.0, 0.0, 93.5, 90.0, None)}
    for name, m in systems.items():
        write_metrics(tmp_path, name, m)
    write_benchmark_and_runs(tmp_path)
    return tmp_path


def row(text: str, model: str) -> list[str]:
    """Cells of the first table row of `model` in the given section."""
    line = next(x for x in text.splitlines() if x.startswith(f"| {model} |"))
    return [c.strip() for c in line.strip("|").split("|")][1:]


@pytest.mark.slow
def test_report_marks_the_best_and_the_change_against_base(evaluated):
    report_stage.main([])
    text = Path(PARAMS["report"]["out"]).read_text()
    main, multi = text.split("## Multi scenario")
    clir, mono = main.split("## Mono-lingual retrieval")
    multi = multi.split("## English inclination")[0]
    models = [x.split("|")[1].strip() for x in clir.splitlines() if x.startswith("| ")][1:]
    assert models == ["base", "bm25", "koenen+base", "kokoen"]  # `first`, then by name
    assert "| Model | lohelp en-ko | lohelp ko-en | AVG en-ko | AVG ko-en | CLIR OVR |" in clir
    assert row(clir, "base") == ["82.28", "77.52", "82.28", "77.52", "79.90"]
    assert row(mono, "base") == ["92.87", "95.79", "92.87", "95.79", "**94.33**"]
    # Ties share the bold; changes against base are signed, and marked where significant by
    # the tests over the runs (kokoen: 20 of 20 queries against 5; koenen+base: the same 5).
    assert row(clir, "kokoen")[:2] == ["85.26 (+2.98†)", "**79.34** (+1.82†)"]
    assert row(clir, "koenen+base")[:5] == ["**89.02** (+6.74)", "**79.34** (+1.82)",
                                            "**89.02** (+6.74)", "**79.34** (+1.82)",
                                            "**84.18** (+4.28)"]
    assert row(mono, "bm25")[0] == "**93.50** (+0.63)"
    assert row(mono, "kokoen")[1] == "**95.81** (+0.02†)"
    assert "Test queries: lohelp 20." in clir
    assert "† significant at p < 0.05 in a paired two-sided permutation test over queries" \
        in mono
    merges = text.split("## Merges against their parents")[1].split("##")[0]
    assert "| koenen+base | base | +0.00 [+0.00, +0.00] | 1.000 | +0.00 [+0.00, +0.00] | " \
           "1.000 |" in merges
    # Multi: higher is better except inclination (lowest) and gap (closest to zero).
    assert row(multi, "koenen+base") == ["**75.00** (+15.00)", "**74.00** (+4.00)",
                                         "**50.00** (+40.00)", "**45.00** (+25.00)",
                                         "25.00 (-15.00)", "**-1.00** (-11.00)"]
    assert row(multi, "kokoen")[4:] == ["**20.00** (-20.00)", "**1.00** (-9.00)"]
    assert row(multi, "bm25") == ["–"] * 6
    # metrics files of older code record no machine: the report says so rather than guess
    assert text.rstrip().endswith("| not recorded | | | | base, bm25, koenen+base, kokoen |")


CPU_FP32 = {"device": "cpu", "precision": "fp32", "cpu": "AMD EPYC 9R14", "aten": "AVX2",
            "onednn": "Intel AVX2"}
GPU_BF16 = {"device": "cuda:0", "precision": "bf16", "gpu": "NVIDIA H100 80GB HBM3"}


def test_the_report_says_which_machine_and_precision_each_figure_came_from(evaluated):
    """One row per machine and precision; a system computed on two is named per benchmark."""
    for name, on in (("base", CPU_FP32), ("kokoen", GPU_BF16), ("koenen+base", CPU_FP32)):
        for bench, record in (("lohelp", on), ("other", on)):
            write_metrics(evaluated, name, metrics(1, 2, 3, 4) | {"computed_on": record}, bench)
    bm25 = {k: v for k, v in CPU_FP32.items() if k != "precision"}
    write_metrics(evaluated, "bm25", metrics(1, 2, 3, 4) | {"computed_on": bm25}, "lohelp")
    write_metrics(evaluated, "bm25", metrics(1, 2, 3, 4) | {"computed_on": GPU_BF16}, "other")
    text = "\n".join(machines_markdown(evaluated / "metrics/eval",
                                       ["base", "bm25", "kokoen", "koenen+base", "absent"],
                                       ["lohelp", "other"]))
    assert "| cpu | fp32 | AMD EPYC 9R14 | AVX2 / Intel AVX2 | base, koenen+base |" in text
    assert "| cpu | – | AMD EPYC 9R14 | AVX2 / Intel AVX2 | bm25 (lohelp) |" in text
    assert ("| cuda:0 | bf16 | NVIDIA H100 80GB HBM3 | – | bm25 (other), kokoen |") in text
    assert "absent" not in text and "not recorded" not in text
    # the figures themselves read as before
    assert load_metrics(evaluated / "metrics/eval", ["base"], [], ["lohelp"])["base"][
        "lohelp/en-ko/ndcg@10"] == 1


def test_plots_as_png_and_as_dvc_data_and_the_report_logged_once(evaluated):
    params = load()
    p, systems = params.report, report_stage.systems(params)
    bench_dirs = {b: params.benchmark.out_dir / b for b in params.benchmarks}
    args = (p, systems, PENDING, params.evaluate.runs_dir, bench_dirs, params.seed)
    assert report.report(*args) == "logged"
    assert report.report(*args) == "exists"  # same content, same key
    plots = p.plots_dir
    for png in ("tradeoff.png", "directions.png", "inclination.png"):
        assert (plots / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(plots / "tradeoff.csv") as f:
        points = list(csv.DictReader(f))
    # the interval is over the runs' per-query scores: base finds 5 of 20 queries (mean 25)
    low, high = bootstrap_ci(np.array([100.0] * 5 + [0.0] * 15), np.full(20, 1 / 20),
                             PARAMS["report"]["resamples"], PARAMS["seed"])
    assert low < 25 < high
    assert points[0] == {"model": "base", "clir_ovr": "79.9", "mono_ovr": "94.33",
                         "clir_ovr_low": str(round(low, 2)), "clir_ovr_high": str(round(high, 2)),
                         "mono_ovr_low": str(round(low, 2)), "mono_ovr_high": str(round(high, 2))}
    assert [x["model"] for x in points] == ["base", "bm25", "koenen+base", "kokoen"]
    with open(plots / "directions.csv") as f:
        bars = list(csv.DictReader(f))
    assert len(bars) == 16
    assert bars[1] == {"label": "base ko-en", "model": "base", "direction": "ko-en",
                       "ndcg@10": "77.52"}

    client = MlflowClient()
    exp = client.get_experiment_by_name("koen-retrieval")
    found = [r for r in client.search_runs([exp.experiment_id]) if "koen.key" in r.data.tags]
    (run,) = [r for r in found if r.data.tags["stage"] == "report"]
    assert run.info.run_name == "report"
    # one run per system with its OVRs, for the runs table's chart, each logged once
    overall = {r.data.tags["model"]: r for r in found if r.data.tags["stage"] == "overall"}
    assert sorted(overall) == ["base", "bm25", "koenen+base", "kokoen"]
    assert overall["base"].data.metrics["clir_ovr"] == 79.9
    assert overall["koenen+base"].data.tags["kind"] == "merge"
    assert run.data.params["models"] == "base,bm25,koenen+base,kokoen"
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == [
        "directions.csv", "directions.png", "inclination.csv", "inclination.png", "overall.json",
        "report.md", "seeds.json", "significance.json", "sweeps.csv", "tradeoff.csv",
        "tradeoff.png"]
    overall = json.loads(p.overall.read_text())
    assert overall["base"] == {"avg_en-ko": 82.28, "avg_ko-en": 77.52, "avg_ko-ko": 92.87,
                               "avg_en-en": 95.79, "clir_ovr": 79.9, "mono_ovr": 94.33}
    logged = run.data.metrics
    assert logged[mlflow_name("against base/kokoen vs base/clir_ovr/p_holm")] < 0.05
    assert logged[mlflow_name("against base/koenen+base vs base/clir_ovr/p_holm")] == 1.0


def test_a_sweep_not_evaluated_yet_names_its_stage(evaluated):
    write_params(evaluated, sweeps={"kokoen~base": {"models": ["kokoen", "base"],
                                                    "weights": [0.5]}})
    with pytest.raises(KoenError, match=r"no metrics of sweeps/kokoen~base/w0.50 in "
                       r"metrics/eval: run its stages \(dvc repro sweep_eval@kokoen~base-"
                       r"lohelp\)"):
        report_stage.main([])


@pytest.mark.slow
def test_inclination_table_follows_base_best_composition_merges_experiment_shift(evaluated):
    write_metrics(evaluated, "kokoko", metrics(1.0, 2.0, 90.0, 90.0))
    write_metrics(evaluated, "experiment",
                  metrics(80.0, 80.0, 90.0, 90.0, (65.0, 70.0, 20.0, 20.0, 30.0)))
    write_metrics(evaluated, "shift", metrics(83.0, 78.0, 92.0, 95.0, (66.0, 70.0, 12.0, 20.0,
                                                                        35.0)))
    write_params(evaluated, grid=["kokoko", "kokoen", "koenen"], composition="ko+en",
                 merges={"koenen+base": {"method": "linear", "models": ["koenen", "base"]}},
                 train={"method": "align", "align": {"init": "kokoen"}},
                 index={**PARAMS["index"], "shift": {"alpha": 0.5, "model": "models/base"}},
                 sweeps={})
    report_stage.main([])
    text = Path(PARAMS["report"]["out"]).read_text().split("## English inclination")[1]
    text, comparisons = text.split("## Merges against their parents")
    models = [x.split("|")[1].strip() for x in text.splitlines() if x.startswith("| ")][1:]
    assert models == ["base", "kokoen (best composition)", "koenen+base (merge)",
                      "experiment (align, init kokoen)", "shift (alpha 0.5, base)"]
    assert row(text, "shift (alpha 0.5, base)") == [
        "80.50 (+0.60)", "93.50 (-0.83)", "66.00 (+6.00)", "70.00 (+0.00)", "35.00 (-5.00)",
        "4.00 (-6.00)"]
    with open(Path(PARAMS["report"]["plots_dir"]) / "inclination.csv") as f:
        bars = list(csv.DictReader(f))
    assert [b["label"] for b in bars[:2]] == ["base lohelp ko", "base lohelp en"]
    assert len(bars) == 10
    # align on top of kokoen: the experiment is tested against kokoen (6 of 20 found vs 20)
    neighbours = comparisons.split("## The experiment model against its grid neighbours")[1]
    assert "| experiment | kokoen | -70.00† [" in neighbours


def test_no_metrics_is_an_error_that_says_what_to_run(tmp_path):
    with pytest.raises(KoenError, match="run the evaluate stages first"):
        load_metrics(tmp_path, ["base"], [], ["lohelp"])
    write_json(tmp_path / "lohelp/base.json", metrics(1.0, 2.0, 3.0, 4.0))
    with pytest.raises(KoenError, match="belebele/base.json: no such file; base is evaluated "
                                         "on other benchmarks but not this one"):
        load_metrics(tmp_path, ["base"], [], ["lohelp", "belebele"])


@pytest.mark.slow
def test_a_one_language_benchmark_shows_dashes_and_averages_what_it_measures(evaluated):
    """A Korean-only benchmark measures ko-ko and en-ko: its other columns are "–", and each
    AVG is over the benchmarks that measure the direction."""
    write_benchmark_and_runs(evaluated, "kobench", ("ko",), ("en-ko", "ko-ko"))
    kobench = {"kokoen": metrics(70.0, None, 80.0, None, None),
               "base": metrics(60.0, None, 70.0, None, None),
               "koenen+base": metrics(65.0, None, 75.0, None, None),
               "bm25": metrics(0.0, None, 90.0, None, None)}
    for name, m in kobench.items():
        write_metrics(evaluated, name, m, "kobench")
    write_params(evaluated, sweeps={}, benchmarks={
        "lohelp": PARAMS["benchmarks"]["lohelp"],
        "kobench": {"format": "beir", "source": "data/kobench", "split": "test"}})
    report_stage.main([])
    text = Path(PARAMS["report"]["out"]).read_text()
    clir, mono = text.split("## Multi scenario")[0].split("## Mono-lingual retrieval")
    assert ("| Model | lohelp en-ko | lohelp ko-en | kobench en-ko | kobench ko-en | AVG en-ko | "
            "AVG ko-en | CLIR OVR |") in clir
    # AVG en-ko over both benchmarks, AVG ko-en over lohelp alone: (71.14 + 77.52) / 2
    assert row(clir, "base") == ["82.28", "77.52", "60.00", "–", "71.14", "77.52", "74.33"]
    assert row(mono, "base")[:4] == ["92.87", "95.79", "70.00", "–"]
    assert "Test queries: lohelp 20, kobench 20." in clir
    assert "### kobench" not in text.split("## Multi scenario")[1]  # no Multi pool there
    overall = json.loads(load().report.overall.read_text())
    assert overall["base"]["mono_ovr"] == 88.61  # ((92.87 + 70) / 2 + 95.79) / 2


def test_trade_off_labels_overlap_neither_each_other_nor_markers():
    fig, ax = new_figure((7.5, 6))
    points = [(f"system-{i}", 28 + 0.3 * (i % 4), 54 + 0.2 * (i // 4)) for i in range(10)]
    points.append(("far", 5.0, 40.0))
    ax.scatter([x for _, x, _ in points], [y for _, _, y in points])
    place_labels(ax, points)
    fig.canvas.draw()  # annotations take their final positions when drawn
    renderer = fig.canvas.get_renderer()
    markers = ax.transData.transform([(x, y) for _, x, y in points])
    assert sorted(t.get_text() for t in ax.texts) == sorted(n for n, _, _ in points)
    # text boxes only (a leader line may cross a box); Text's own extent leaves the line out
    texts = [Text.get_window_extent(t, renderer) for t in ax.texts]
    assert not any(a.overlaps(b) for i, a in enumerate(texts) for b in texts[i + 1:])
    assert not any(box.contains(px, py) for box in texts for px, py in markers)


@pytest.mark.slow
def test_one_training_seed_says_the_spread_is_not_measured(evaluated):
    report_stage.main([])
    section = Path(PARAMS["report"]["out"]).read_text().split("## Training seeds")[1]
    assert "One training seed (train.seed 13): how much the models move with another seed is " \
           "not measured." in section
    assert load().report.seeds.is_file()


@pytest.mark.slow
def test_further_seeds_give_mean_and_sd_per_model_and_per_merge_change(evaluated):
    write_params(evaluated, sweeps={}, train={"more_seeds": [42]})
    # seed 42: kokoen CLIR (83.26 + 78.34) / 2 = 80.80 against seed 13's 82.30; koenen+base
    # CLIR (86.02 + 79.34) / 2 = 82.68 against 84.18, Mono (92.0 + 94.17) / 2 = 93.09 (92.59)
    write_metrics(evaluated, "seeds/s42/kokoen", metrics(83.26, 78.34, 90.55, 94.81))
    write_metrics(evaluated, "seeds/s42/koenen+base", metrics(86.02, 79.34, 92.0, 94.17))
    report_stage.main([])
    section = Path(PARAMS["report"]["out"]).read_text().split("## Training seeds")[1]
    clir, rest = section.split("### CLIR OVR")[1].split("### Mono OVR")
    mono, merges = rest.split("### Merges against their parents, per seed")
    assert "| Model | s13 | s42 | mean ± sd |" in clir
    # mean 81.55; sample sd of two values: |82.30 - 80.80| / sqrt(2) = 1.06
    assert row(clir, "kokoen") == ["82.30", "80.80", "81.55 ± 1.06"]
    assert row(clir, "koenen+base") == ["84.18", "82.68", "83.43 ± 1.06"]
    assert row(mono, "koenen+base") == ["92.59", "93.09", "92.84 ± 0.35"]
    # koenen (not evaluated here) has no row; base is the same model for both seeds:
    # CLIR 84.18 - 79.90 = +4.28 and 82.68 - 79.90 = +2.78
    assert row(merges, "koenen+base") == ["base", "+4.28", "+2.78", "+3.53 ± 1.06",
                                          "-1.74", "-1.24", "-1.49 ± 0.35"]
    spread = json.loads(load().report.seeds.read_text())["spread"]
    assert spread["kokoen/clir_ovr"]["values"] == {"13": 82.3, "42": 80.8}
    assert spread["kokoen/clir_ovr"]["sd"] == pytest.approx(1.5 / 2 ** 0.5)


def test_a_further_seed_not_evaluated_yet_names_its_stage(evaluated):
    write_params(evaluated, sweeps={}, train={"more_seeds": [42]})
    with pytest.raises(KoenError, match=r"no metrics of kokoen with training seed 42 in "
                       r"metrics/eval: run its stages \(dvc repro seed_eval@42-lohelp\)"):
        report_stage.main([])
