"""bench/stage_times.py: stage times read from a stamped `dvc repro` log."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from stage_times import by_family, resumed, stage_seconds  # noqa: E402  (bench/ on the path first)

LOG = """\
23:58:00 Stage 'prepare' didn't change, skipping
23:58:01 Running stage 'train@kokoen':
23:58:01 > python -m stages.train grid kokoen
23:59:31 Updating lock file 'dvc.lock'
23:59:32 Stage 'train@koenen' is cached - skipping run, checking out outputs
23:59:40 Running stage 'train@enenen':
00:01:40 Updating lock file 'dvc.lock'
00:01:41 Running stage 'report':
not stamped: a progress bar's carriage returns
00:01:51 exit 0
"""


def test_stages_are_timed_to_the_next_stage_across_midnight():
    ran, skipped, running = stage_seconds(LOG.splitlines())
    assert ran == {"train@kokoen": 91.0, "train@enenen": 121.0, "report": 10.0}
    assert skipped == ["prepare", "train@koenen"] and running is None
    assert by_family(ran) == {"train": {"runs": 2, "total_s": 212, "each_s": 106},
                              "report": {"runs": 1, "total_s": 10, "each_s": 10}}


def test_a_live_log_leaves_the_running_stage_untimed():
    live = [*LOG.splitlines()[:-1], "00:03:00 encode passage: 50%"]
    ran, _, running = stage_seconds(live)
    assert running == "report" and "report" not in ran and ran["train@enenen"] == 121.0


def test_a_run_stopped_and_resumed_times_each_stage_where_it_finished():
    stopped = [*LOG.splitlines()[:-1], "00:03:00 encode passage: 50%"]  # stopped in `report`
    again = """\
09:00:00 Stage 'train@kokoen' didn't change, skipping
09:00:01 Stage 'train@enenen' didn't change, skipping
09:00:02 Running stage 'report':
09:00:14 Running stage 'register':
09:00:20 exit 0
""".splitlines()
    ran, skipped, running = resumed([stopped, again])
    assert ran == {"train@kokoen": 91.0, "train@enenen": 121.0, "report": 12.0, "register": 6.0}
    assert skipped == ["prepare", "train@koenen"] and running is None
