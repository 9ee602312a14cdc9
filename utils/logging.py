"""Logging setup: one line per record, to stderr."""

from __future__ import annotations

import logging


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # aiogram logs every handled update at INFO; keep that for DEBUG runs only.
    if level != "DEBUG":
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)
