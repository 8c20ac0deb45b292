"""Fixtures shared by the integration tests: each engine backend on the session node, a throwaway user."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from rabbitadmin.backends.base import Backend
from rabbitadmin.backends.ctl.backend import CtlBackend
from rabbitadmin.backends.http.backend import HttpBackend
from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.connection import ConnectionSettings
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import ctl_backend_options


@pytest.fixture(params=["http", "ctl"])
def backend(
    request: pytest.FixtureRequest, settings: ConnectionSettings, sandbox: Sandbox, node: SandboxInfo
) -> Iterator[Backend]:
    """The session node through each transport in turn."""
    made: Backend = (
        HttpBackend(settings, parallelism=2)
        if request.param == "http"
        else CtlBackend(**ctl_backend_options(sandbox, node))  # type: ignore[arg-type]
    )
    yield made
    made.close()


@pytest.fixture
def user(admin_client: HttpClient) -> Iterator[str]:
    """A fresh user name, deleted afterwards."""
    name = f"u-{secrets.token_hex(3)}"
    yield name
    admin_client.delete(api_path("users", name))
