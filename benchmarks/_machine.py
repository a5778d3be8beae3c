"""The machine a benchmark ran on, for its JSON and its README table: date, CPU, load, git revision."""

from __future__ import annotations

import datetime
import pathlib
import platform
import subprocess


def describe() -> dict:
    """date, cpu (the model name), load_average (1, 5, 15 min, or None) and git (short revision)."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=True, cwd=pathlib.Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "unknown (no commit)"
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = list(map(float, pathlib.Path("/proc/loadavg").read_text().split()[:3]))
    except OSError:
        load = None
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": cpu, "load_average": load,
            "git": rev}
