#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what is missing, then runs the linters, the
# type checker and every test. Tests start their own private RabbitMQ nodes on free ports and stop them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh

echo "==> ruff"
.venv/bin/ruff check src tests benchmarks
echo "==> mypy"
.venv/bin/mypy
echo "==> pytest"
exec .venv/bin/pytest -q "$@"
