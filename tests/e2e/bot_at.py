"""`python tests/e2e/bot_at.py MOMENT`: `python -m bot` whose clock starts at MOMENT (ISO 8601
with its offset, e.g. 2026-12-12T12:00:00+03:00, a Saturday) and runs on from there.

For end-to-end scenarios that must happen on a given weekday or hour (the out-of-hours
auto-reply). `time-machine` moves the process's wall clock only (datetime, time.time); the
event loop's monotonic clock, and so every timeout, is left alone. Nothing of this is in the
bot itself: it runs unchanged.
"""

from __future__ import annotations

import runpy
import sys

import time_machine

if __name__ == "__main__":
    moment = sys.argv.pop(1)
    with time_machine.travel(moment, tick=True):
        runpy.run_module("bot", run_name="__main__", alter_sys=True)
