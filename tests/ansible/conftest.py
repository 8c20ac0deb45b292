"""The product's wheel, built once per session from this checkout as docs/ansible.md tells an operator to."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ansible.support import REPO, build_wheel


@pytest.fixture(scope="session")
def product_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(REPO, tmp_path_factory.mktemp("wheel"))
