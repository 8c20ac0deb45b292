"""Ctrl-C during an apply over several targets stops every target and reports each one.

Three targets on the session node, one at a time (``--parallel-targets 1``): ``first`` applies, ``slow``
goes through the suite's fault proxy, which holds its first write; SIGINT then arrives. ``slow`` sends no
new request after its write in flight ends, ``last`` never starts, every target is in the summary, and the
exit code is 130.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.errors import ExitCode
from rabbitadmin.sandbox import SandboxInfo

from .proxy import FaultProxy
from .test_interrupt import start


@pytest.fixture
def three_vhosts(admin_client: HttpClient) -> Iterator[list[str]]:
    names = [f"fleet-{which}-{uuid.uuid4().hex[:8]}" for which in ("first", "slow", "last")]
    yield names
    for name in names:
        admin_client.request("DELETE", api_path("vhosts", name), ok_statuses=(204, 404))


def test_ctrl_c_stops_every_target(
    node: SandboxInfo, admin_client: HttpClient, proxy: FaultProxy, three_vhosts: list[str], tmp_path: Path
) -> None:
    first, slow, last = three_vhosts
    password = Path(node.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
    config = ""
    for name, url, vhost in (("first", node.url, first), ("slow", proxy.url, slow), ("last", node.url, last)):
        config += (
            f'[targets.{name}]\nurl = "{url}"\nuser = "{node.user}"\npassword_env = "FLEET_PW"\n'
            f'amqp_port = {node.amqp_port}\nvars = {{ vhost = "{vhost}" }}\n\n'
        )
    (tmp_path / "targets.toml").write_text(config + '[groups.all]\ntargets = ["first", "slow", "last"]\n')
    (tmp_path / "t.yaml").write_text("vhosts:\n  - name: ${vhost}\n    queues:\n      - name: q\n")
    held = proxy.inject("stall", count=1, match=lambda method, _path: method == "PUT", seconds=8)

    env = {"RABBITADMIN_CONFIG": str(tmp_path / "targets.toml"), "FLEET_PW": password}
    args = ["apply", str(tmp_path / "t.yaml"), "--target", "all", "--yes", "--parallel-targets", "1", "-o", "json"]
    process, out, err = start(env, args, tmp_path)
    deadline = time.monotonic() + 120
    while not held.hits:  # slow's first write is being held: first is done, last has not started
        assert process.poll() is None, err.read_text()[-3000:]
        assert time.monotonic() < deadline, "the slow target's write never reached the proxy"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == ExitCode.INTERRUPTED, err.read_text()[-3000:]
    assert "Traceback" not in err.read_text()

    document = json.loads(out.read_text())
    targets = document["targets"]
    assert document["exit_code"] == 130 and list(targets) == ["first", "slow", "last"]
    assert targets["first"]["exit_code"] == 0 and targets["first"]["status"] == "applied 2 change(s)"
    assert targets["slow"]["exit_code"] == 130 and targets["slow"]["result"]["done"] == []
    assert targets["last"]["exit_code"] == 130 and "before this target started" in targets["last"]["error"]["message"]
    vhosts = {row["name"] for row in admin_client.request("GET", "/api/vhosts").json()}
    assert first in vhosts and last not in vhosts
    assert len(held.hits) == 1 and not [s for s in proxy.seen if s.method == "PUT" and s.fault is None]
