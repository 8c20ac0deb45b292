"""TLS against a real node: verification on by default, a CA bundle, a client certificate, --insecure."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rabbitadmin import early_read
from rabbitadmin.backends.http.paths import VERSION_READ, server_listings, vhost_listing
from rabbitadmin.connection import resolve_settings
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import CliRunner


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> None:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    directory.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=directory)  # fmt: skip
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory)  # fmt: skip
        extra = ["-extfile", "server.ext"] if name == "server" else []
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-out", f"{name}.pem", *extra, cwd=directory)  # fmt: skip
    for key in directory.glob("*.key"):
        key.chmod(0o644)  # the node may run as another user elsewhere; these keys are throwaway


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory: pytest.TempPathFactory, rabbitmq_version: str) -> Iterator[SandboxInfo]:
    base = tmp_path_factory.mktemp("tls")
    make_certificates(base / "certs")
    box = Sandbox(base / "node", tls_dir=base / "certs", rabbitmq=rabbitmq_version)
    info = box.start()
    try:
        yield info
    finally:
        box.stop()


def test_sandbox_env_exports_the_tls_files(tls_node: SandboxInfo, topology: Path) -> None:
    script = Sandbox(Path(tls_node.directory)).env_exports()
    assert f"RABBITADMIN_CA_BUNDLE={tls_node.ca_file}" in script
    result = subprocess.run(
        ["bash", "-c", f'{script}\nexec "$0" -m rabbitadmin plan "$1"', sys.executable, str(topology)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def tls_cli(tls_node: SandboxInfo) -> CliRunner:
    return CliRunner(
        {
            "RABBITADMIN_URL": tls_node.url,
            "RABBITADMIN_USER": tls_node.user,
            "RABBITADMIN_PASSWORD_FILE": str(tls_node.password_file),
        }
    )


@pytest.fixture
def topology(tmp_path: Path) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"vhosts": [{"name": "tls-test"}]}))
    return path


def test_verification_is_on_by_default(tls_cli: CliRunner, topology: Path) -> None:
    result = tls_cli("plan", str(topology))
    assert result.returncode == 3 and "TLS handshake" in result.stderr and "--ca-bundle" in result.stderr


def test_ca_bundle_and_client_certificate(tls_cli: CliRunner, tls_node: SandboxInfo, topology: Path) -> None:
    assert tls_node.ca_file and tls_node.client_cert
    cert, key = tls_node.client_cert
    ok = tls_cli("--ca-bundle", tls_node.ca_file, "--client-cert", cert, "--client-key", key, "plan", str(topology))
    assert ok.returncode == 0, ok.stderr
    assert "create vhost 'tls-test'" in ok.stdout
    no_client_cert = tls_cli("--ca-bundle", tls_node.ca_file, "plan", str(topology))
    assert no_client_cert.returncode == 3


def test_insecure_is_explicit_and_warned_about(tls_cli: CliRunner, tls_node: SandboxInfo, topology: Path) -> None:
    assert tls_node.client_cert
    cert, key = tls_node.client_cert
    result = tls_cli("--insecure", "--client-cert", cert, "--client-key", key, "plan", str(topology))
    assert result.returncode == 0, result.stderr
    assert "TLS certificate verification is off" in result.stderr


def test_the_early_read_verifies_the_server_as_the_client_does(tls_node: SandboxInfo, tmp_path: Path) -> None:
    assert tls_node.ca_file and tls_node.client_cert
    cert, key = tls_node.client_cert
    path = tmp_path / "default.yaml"
    path.write_text(yaml.safe_dump({"vhosts": [{"name": "/"}]}))
    env = {"RABBITADMIN_URL": tls_node.url, "RABBITADMIN_USER": tls_node.user}
    env["RABBITADMIN_PASSWORD_FILE"] = str(tls_node.password_file)
    listing = vhost_listing("exchange", "/")
    try:
        trusted = ["--ca-bundle", tls_node.ca_file, "--client-cert", cert, "--client-key", key, "plan", str(path)]
        assert early_read.begin(trusted, env) == 3 + len(server_listings()) + 2  # and the server's own
        settings = resolve_settings(ca_bundle=tls_node.ca_file, client_cert=cert, client_key=key, environ=env)
        taken = early_read.take(settings, settings.url, *listing)
        assert taken is not None and "amq.topic" in {row["name"] for row in taken.payload}

        # Without the test CA the server's certificate is not trusted: no early answer, the client reports it.
        early_read.forget()
        assert early_read.begin(["--client-cert", cert, "--client-key", key, "plan", str(path)], env) > 3
        untrusted = resolve_settings(client_cert=cert, client_key=key, environ=env)
        assert early_read.take(untrusted, untrusted.url, *listing) is None
        assert early_read.take(untrusted, untrusted.url, *VERSION_READ) is None  # nor over the shared connection
    finally:
        early_read.forget()
