"""Several URLs for one server, on the session's real node: the first that answers is used, a URL that
refuses connections is skipped with a note (stderr, ``-o json``), and when none answers the error names
every URL. (The cluster itself, with nodes stopped and killed mid-apply: tests/cluster/test_failover.py.)"""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.errors import ConnectionFailed
from rabbitadmin.sandbox import SandboxInfo

from ..conftest import CliRunner


def refusing_url() -> str:
    """A loopback URL nothing listens on (a port just freed): connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_client_moves_to_the_next_url_for_reads_and_writes(settings: ConnectionSettings, vhost: str) -> None:
    dead = refusing_url()
    moves: list[tuple[str, str, str]] = []
    client = HttpClient(
        replace(settings, url=dead, other_urls=(settings.url,), on_failover=lambda *move: moves.append(move))
    )
    try:
        assert client.get(api_path("overview"), {"columns": "rabbitmq_version"})["rabbitmq_version"]
        client.put(api_path("vhosts", vhost), {})  # a write goes to the node that answers
        assert client.get_or_none(api_path("vhosts", vhost)) is not None
    finally:
        client.close()
    assert moves == [(dead, settings.url.rstrip("/"), "connection refused")]
    assert client.failovers == 1 and client.current_url == settings.url.rstrip("/")


def test_when_no_url_answers_the_error_names_each(settings: ConnectionSettings) -> None:
    dead = [refusing_url(), refusing_url()]
    client = HttpClient(replace(settings, url=dead[0], other_urls=(dead[1],), timeout=10))
    with pytest.raises(ConnectionFailed) as raised:
        client.get(api_path("overview"))
    assert all(url in str(raised.value) for url in dead)


def test_cli_takes_repeated_url_options_and_rabbitadmin_urls(cli_env: dict[str, str], node: SandboxInfo) -> None:
    dead = refusing_url()
    env = {k: v for k, v in cli_env.items() if k != "RABBITADMIN_URL"}
    run = CliRunner(env)
    listed = run("--url", dead, "--url", node.url, "vhosts", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert f"note: {dead} is unreachable (connection refused); continuing through {node.url}" in listed.stderr
    assert "/" in {row["name"] for row in json.loads(listed.stdout)}
    from_env = run("vhosts", "list", env={"RABBITADMIN_URLS": f"{dead},{node.url}"})
    assert from_env.returncode == 0 and "continuing through" in from_env.stderr, from_env.stderr
    # RABBITADMIN_URL first, then the other nodes of RABBITADMIN_URLS (what `sandbox env` sets).
    both = run("vhosts", "list", env={"RABBITADMIN_URL": dead, "RABBITADMIN_URLS": f"{node.url},{dead}"})
    assert both.returncode == 0 and f"note: {dead} is unreachable" in both.stderr, both.stderr


def test_apply_json_names_the_node_that_took_over(
    cli_env: dict[str, str], node: SandboxInfo, tmp_path: Path, vhost: str
) -> None:
    dead = refusing_url()
    path = tmp_path / "t.yaml"
    path.write_text(json.dumps({"vhosts": [{"name": vhost, "exchanges": [{"name": "x", "type": "fanout"}]}]}))
    applied = CliRunner(cli_env)("--url", dead, "--url", node.url, "apply", str(path), "--yes", "-o", "json")
    assert applied.returncode == 0, applied.stderr
    report = json.loads(applied.stdout)
    assert [(f["from"], f["to"]) for f in report["failovers"]] == [(dead, node.url)]
    assert report["result"]["ok"]


def test_a_target_with_several_urls_uses_the_first_that_answers(
    cli_env: dict[str, str], node: SandboxInfo, tmp_path: Path
) -> None:
    dead = refusing_url()
    config = tmp_path / "targets.toml"
    config.write_text(f'[targets.c]\nurl = ["{dead}", "{node.url}"]\nuser = "{node.user}"\n')
    env = {k: v for k, v in cli_env.items() if k not in ("RABBITADMIN_URL", "RABBITADMIN_USER")}
    listed = CliRunner(env)("--target", "c", "vhosts", "list", env={"RABBITADMIN_CONFIG": str(config)})
    assert listed.returncode == 0, listed.stderr
    assert f"continuing through {node.url}" in listed.stderr


def test_a_read_the_first_node_never_answers_goes_to_the_next(settings: ConnectionSettings) -> None:
    # A socket that listens but never accepts: the kernel completes the handshake, the request is sent,
    # no answer ever comes (a hung node). Fault injection on loopback; the answer comes from the real node.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        url = f"http://127.0.0.1:{hung.getsockname()[1]}"
        moves: list[tuple[str, str, str]] = []
        client = HttpClient(
            replace(settings, url=url, other_urls=(settings.url,), timeout=2, on_failover=lambda *m: moves.append(m))
        )
        try:
            assert client.get(api_path("overview"), {"columns": "rabbitmq_version"})["rabbitmq_version"]
        finally:
            client.close()
    assert moves == [(url, settings.url.rstrip("/"), "no answer within 2s")]
