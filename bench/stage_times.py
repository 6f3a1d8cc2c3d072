"""Per-stage wall time of a `dvc repro`, from its own output: the per-stage table of docs/speed.md.

    python bench/stage_times.py --out stage_times -- dvc repro      # run it, stamping each line
    python bench/stage_times.py --log repro.log --out stage_times    # lines already stamped
    python bench/stage_times.py --log first.log --log resumed.log    # a run resumed after a stop

DVC prints no timings, so each output line gets the clock time it arrived at (`HH:MM:SS ` in
front, as in the log this writes next to the JSON); a stage runs from its "Running stage" line
to the next stage line or the end. Stages restored from the run-cache or unchanged are listed,
not timed. Prints the table by stage family (`train@kokoen` -> `train`) and writes every stage's
seconds to metrics/bench/<out>.json (the stamped log, metrics/bench/<out>.log, is not tracked).
Several logs are one run stopped and resumed: a stage is timed where it ran to its end (the
stage a stop cut short is left untimed in its log and timed in the one that reran it).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)

STAMP = re.compile(r"^(\d\d:\d\d:\d\d) (.*)$")
RUNNING = re.compile(r"Running stage '([^']+)'")
NOT_RUN = re.compile(r"Stage '([^']+)' (?:is cached|didn't change)")
END = re.compile(r"^(?:exit |end rc=)\d+$")  # the last line `stamped` writes


def stamped(cmd: list[str], log: Path) -> int:
    """Run `cmd` in the current directory (like `time`: a copy of the project elsewhere is timed
    from there), writing its output lines (stdout and stderr) to `log` with their arrival time;
    its exit status."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as out, subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace") as proc:
        for line in proc.stdout:
            out.write(f"{datetime.now():%H:%M:%S} {line}")
            out.flush()
            print(line, end="")
        out.write(f"{datetime.now():%H:%M:%S} exit {proc.wait()}\n")
    return proc.returncode


def stage_seconds(lines: list[str]) -> tuple[dict[str, float], list[str], str | None]:
    """The seconds of each stage that ran to its end, in order; the stages that did not run;
    the stage still running when the log ends without its end line (a live log), if any."""
    events: list[tuple[datetime, str | None, bool]] = []  # (time, stage, ran)
    finished = False
    day = timedelta()
    last = None
    for line in lines:
        if not (m := STAMP.match(line)):
            continue
        t = datetime.strptime(m[1], "%H:%M:%S") + day
        if last is not None and t < last:  # past midnight
            day += timedelta(days=1)
            t += timedelta(days=1)
        last = t
        if run := RUNNING.search(m[2]):
            events.append((t, run[1], True))
        elif skip := NOT_RUN.search(m[2]):
            events.append((t, skip[1], False))
        elif END.match(m[2]):
            finished = True
    if last is None:
        raise SystemExit("no stamped line (HH:MM:SS at the start) in the log")
    running = events[-1][1] if not finished and events and events[-1][2] else None
    events.append((last, None, False))
    ran, skipped = {}, []
    timed = events[:-2] if running else events[:-1]  # the live stage ends the one before it
    for (start, name, did_run), (end, _, _) in zip(timed, events[1:], strict=False):
        if did_run:
            ran[name] = (end - start).total_seconds()
        else:
            skipped.append(name)
    return ran, skipped, running


def resumed(logs: list[list[str]]) -> tuple[dict[str, float], list[str], str | None]:
    """`stage_seconds` over the logs of one run stopped and resumed, in order: the later log's
    time for a stage that ran to its end in both; not run = run to its end in none."""
    ran: dict[str, float] = {}
    skipped: list[str] = []
    running = None
    for lines in logs:
        done, not_run, running = stage_seconds(lines)
        ran.update(done)
        skipped += [name for name in not_run if name not in skipped]
    return ran, [name for name in skipped if name not in ran], running


def by_family(ran: dict[str, float]) -> dict[str, dict]:
    families: dict[str, list[float]] = defaultdict(list)
    for name, seconds in ran.items():
        families[name.split("@")[0]].append(seconds)
    return {f: {"runs": len(s), "total_s": round(sum(s)), "each_s": round(sum(s) / len(s))}
            for f, s in families.items()}


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60)} s" if seconds >= 60 \
        else f"{seconds:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, action="append",
                        help="an already stamped log (else run the command); repeat it for a "
                             "run stopped and resumed, in order")
    parser.add_argument("--out", default="stage_times", help="metrics/bench/<out>.json")
    parser.add_argument("cmd", nargs="*", help="after --: the command to run and time")
    args = parser.parse_args()
    status = 0
    if args.log is None:
        if not args.cmd:
            parser.error("give --log FILE or a command after --")
        args.log = [ROOT / "metrics" / "bench" / f"{args.out}.log"]
        status = stamped(args.cmd, args.log[0])
    ran, skipped, running = resumed([log.read_text(encoding="utf-8", errors="replace")
                                     .splitlines() for log in args.log])
    families = by_family(ran)
    print("| stage | runs | total | each |\n|---|---:|---:|---:|")
    for family, f in families.items():
        print(f"| `{family}` | {f['runs']} | {minutes(f['total_s'])} | {minutes(f['each_s'])} |")
    print(f"| whole run (sum) | {len(ran)} | {minutes(sum(ran.values()))} | |")
    if skipped:
        print(f"not run (unchanged or restored from the run-cache): {', '.join(skipped)}")
    if running:
        print(f"still running when the log ends (not timed): {running}")
    record.write(args.out, {"logs": [str(log) for log in args.log],
                            "stages_s": {k: round(v) for k, v in ran.items()},
                            "families": families, "total_s": round(sum(ran.values())),
                            "not_run": skipped, "running": running,
                            "exit": status})
    if status:
        raise SystemExit(f"{' '.join(args.cmd)} failed ({status}): the table covers what ran")


if __name__ == "__main__":
    main()
