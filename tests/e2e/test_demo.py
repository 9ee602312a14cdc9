"""`make demo` (python -m demo): the bot answers /start in the terminal, on a fresh directory."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


async def test_demo_shows_the_bot_answering_start(tmp_path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demo",
        "--dir",
        str(tmp_path / "demo"),
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(b"/users\n/quit\n"), timeout=90)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "[bot → Петров П.]" in text and "Шаг 1 из 2" in text, text
    assert "Ольга Владимирова" in text  # /users lists the seeded people
    assert (tmp_path / "demo" / "helpdesk.db").exists()
