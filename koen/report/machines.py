"""The report's account of where its figures come from: the device, precision and CPU vector
paths or GPU each evaluation recorded (`computed_on` in its metrics file), one row per machine
and precision, since figures can differ between them (docs/reproducibility.md)."""

from __future__ import annotations

from pathlib import Path

from koen.evaluation.metrics import load_computed_on

Record = tuple[tuple[str, str], ...]


def machine_rows(eval_dir: Path, names: list[str], benchmarks: list[str]
                 ) -> tuple[dict[Record, list[str]], list[str]]:
    """The systems (a system whose benchmarks differ: `name (benchmark)`) of each distinct
    record, in the order first met, and the evaluated systems with no record (metrics files of
    older code). Systems not evaluated are left out."""
    rows: dict[Record, list[str]] = {}
    unrecorded = []
    for name in names:
        found = load_computed_on(eval_dir, name, benchmarks)
        if found and not any(found.values()):
            unrecorded.append(name)
        records = {bench: tuple(r.items()) for bench, r in found.items() if r}
        one = len(set(records.values())) == 1
        for bench, record in records.items():
            label = name if one else f"{name} ({bench})"
            systems = rows.setdefault(record, [])
            if label not in systems:
                systems.append(label)
    return rows, unrecorded


def machines_markdown(eval_dir: Path, names: list[str], benchmarks: list[str]) -> list[str]:
    """The report's "Computed on" section."""
    rows, unrecorded = machine_rows(eval_dir, names, benchmarks)
    lines = ["## Computed on", "",
             "Each evaluation's device and precision (of the passages' and queries' encoding; "
             "BM25 has none), with the GPU, or the CPU and the vector paths of torch's kernels "
             "(ATen) and of oneDNN, as the metrics files record them (`computed_on`). Another "
             "precision, or other vector paths, can give other figures: "
             "docs/reproducibility.md.", "",
             "| device | precision | CPU or GPU | ATen / oneDNN | systems |",
             "|---|---|---|---|---|"]
    for record, systems in rows.items():
        r = dict(record)
        machine = r.get("gpu", r.get("cpu", "–"))
        paths = f"{r['aten']} / {r['onednn']}" if "aten" in r else "–"
        who = "all" if len(rows) == 1 and not unrecorded else ", ".join(systems)
        lines.append(f"| {r['device']} | {r.get('precision', '–')} | {machine} | {paths} | "
                     f"{who} |")
    if unrecorded:
        lines.append(f"| not recorded | | | | {', '.join(unrecorded)} |")
    return [*lines, ""]
