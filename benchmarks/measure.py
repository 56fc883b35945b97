"""Run a command and write its wall-clock-free resource usage (peak RSS, exit code,
CPU seconds, bytes read from and written to disk) to a JSON file:
`python measure.py OUT.json CMD...`.

Why a separate process: Linux carries a process's memory high-water mark across exec
into the new program's ru_maxrss. A step started straight from the benchmark would
report at least the benchmark's own peak (19 GB at 100M, after it picked the day to
append). This small process is the parent that forks the step, so the step's number
is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(cmd)
    while True:
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            break
        except InterruptedError:  # pragma: no cover - retried by Python already
            continue
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        # block I/O the step really did (page cache misses and write-backs), 512-byte
        # units: at 100M the warehouse outgrows the page cache and reads hit the disk
        json.dump({"peak_rss_kb": usage.ru_maxrss, "exit_code": code,
                   "disk_read_bytes": usage.ru_inblock * 512,
                   "disk_written_bytes": usage.ru_oublock * 512,
                   # CPU time of the step and its children: with the wall time it shows
                   # whether the step kept the cores busy or waited (on disk, on one thread)
                   "cpu_user_seconds": round(usage.ru_utime, 2),
                   "cpu_system_seconds": round(usage.ru_stime, 2)}, f)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
