"""``report --live``: the HTML page loads in headless Chromium without console errors and shows the picture,
the access heat map and the audit findings. A screenshot is kept in tests/artefacts/ (git-ignored)."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path

from ..conftest import CliRunner
from .test_live import applied  # noqa: F401  (the fixture: the topology applied in the test vhost)

pytestmark = pytest.mark.integration

ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0",
)  # fmt: skip


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on a local page with an empty profile; stderr carries the console messages."""
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_the_harness_sees_console_errors(tmp_path: Path) -> None:
    """The check below could fail: a page with a script error shows up in the console lines."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('marker-1'); notAFunction();</script></body></html>")
    result = chromium(page, tmp_path / "profile", "--dump-dom")
    messages = console_messages(result.stderr)
    assert any("marker-1" in m for m in messages) and any("notAFunction" in m for m in messages)


@pytest.fixture
def reader(admin_client: HttpClient, vhost: str, applied: Path) -> Iterator[str]:  # noqa: F811
    """A user who may only read queues in the test vhost (a row of the heat map)."""
    name = f"reader-{secrets.token_hex(3)}"
    admin_client.put(api_path("users", name), {"password": secrets.token_hex(12), "tags": ""})
    admin_client.put(api_path("permissions", vhost, name), {"configure": "", "write": "", "read": "^orders\\."})
    yield name
    admin_client.delete(api_path("users", name))


def test_report_live_renders_in_chromium(rabbitadmin: CliRunner, vhost: str, reader: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    rabbitadmin("report", "--live", "--output-file", str(page), check=True)
    html = page.read_text(encoding="utf-8")
    # Self-contained: no script, stylesheet or image fetched from anywhere (the network is closed).
    assert not re.search(r'(?:src|href)\s*=\s*"(?!#)', html) and "<link" not in html and "<script" not in html

    dom = chromium(page, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == []
    text = dom.stdout
    assert re.search(r'<section id="graph">.*<svg', text, re.DOTALL)
    assert "orders.lost" in text and "unrouted" in text
    # The heat map: the reader's row has R on the orders.* queues and nothing on the exchanges.
    table = re.search(
        rf'<table class="access-matrix" data-vhost="{re.escape(_html(vhost))}">(.*?)</table>', text, re.DOTALL
    )
    assert table is not None
    row = re.search(rf'<th class="user">{reader}</th>(.*?)</tr>', table.group(1), re.DOTALL)
    assert row is not None
    cells = re.findall(r'<td class="heat r(\d)"[^>]*>([^<]*)</td>', row.group(1))
    assert sorted(set(cells)) == [("0", "---"), ("1", "--R")]
    assert sum(1 for level, _ in cells if level == "1") == 2  # orders.eu and orders.lost
    audit = json.loads(rabbitadmin("audit", "-o", "json", check=True).stdout)["findings"]
    assert f"<h2>Audit findings ({len(audit)})</h2>" in text
    for finding in audit:
        assert f"<td>{finding['rule']}</td>" in text

    ARTEFACTS.mkdir(exist_ok=True)
    shot = ARTEFACTS / "report.png"
    shot.unlink(missing_ok=True)
    result = chromium(page, tmp_path / "profile", "--window-size=1400,2000", f"--screenshot={shot}")
    assert result.returncode == 0 and console_messages(result.stderr) == []
    assert shot.stat().st_size > 10_000


def _html(text: str) -> str:
    from html import escape

    return escape(text)
