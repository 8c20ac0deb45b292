#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what is missing, then runs the linters, the
# type checker and every test. Tests start their own private RabbitMQ nodes on free ports and stop them.
# Every test that touches a server runs on RabbitMQ 3.10 (the host's package) and 4.0 (from a Debian 13
# root, built once and cached: about a minute); RABBITADMIN_TEST_VERSIONS=3.10 restricts the run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh

echo "==> ruff"
.venv/bin/ruff check src tests benchmarks
echo "==> mypy"
.venv/bin/mypy
case ",${RABBITADMIN_TEST_VERSIONS:-3.10,4.0}," in
  *,4.0,*)
    echo "==> the RabbitMQ 4.0 root (built on first use, then reused)"
    .venv/bin/python -c 'from rabbitadmin.server_root import RECIPES, ensure_root; print(ensure_root(RECIPES["4.0"]))'
    ;;
esac
echo "==> pytest"
exec .venv/bin/pytest -q "$@"
