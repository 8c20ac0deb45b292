#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what is missing, then runs the linters, the
# type checker and every test. Tests start their own private RabbitMQ nodes on free ports and stop them.
# Every test that touches a server runs on RabbitMQ 3.10 (the host's package) and 4.0 (from a Debian 13
# root, built once and cached: about a minute); RABBITADMIN_TEST_VERSIONS=3.10 restricts the run. With both
# versions, the 4.0 node tests run in a second pytest process beside the rest (RABBITADMIN_TEST_JOBS=1: one).
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
versions="${RABBITADMIN_TEST_VERSIONS:-3.10,4.0}"
if [ "${RABBITADMIN_TEST_JOBS:-2}" = 1 ] || [ "$versions" != "3.10,4.0" ]; then
  echo "==> pytest"
  exec .venv/bin/pytest -q "$@"
fi
# Two processes on the machine's cores: most of a node test's time is spent waiting for the broker, so the
# 4.0 node tests and the tests that start no node run beside the 3.10 node tests (and the Ansible tests,
# which deploy the host's 3.10). RABBITADMIN_TEST_JOBS=1 runs one process (do so when you pass your own -m).
log="$(mktemp -t rabbitadmin-tests-4.0.XXXXXX.log)"
echo "==> pytest: RabbitMQ 4.0 node tests and the tests that start no node, in the background (output at the end; live in $log)"
RABBITADMIN_TEST_VERSIONS=4.0 .venv/bin/pytest -q -m "versioned or not integration" "$@" >"$log" 2>&1 &
second=$!
trap 'kill -INT "$second" 2>/dev/null || true; wait "$second" 2>/dev/null || true' INT TERM
echo "==> pytest: RabbitMQ 3.10 node tests"
status=0
RABBITADMIN_TEST_VERSIONS=3.10 .venv/bin/pytest -q -m integration "$@" || status=$?
second_status=0
wait "$second" || second_status=$?
trap - INT TERM
echo "==> pytest: RabbitMQ 4.0 node tests and the tests that start no node (exit $second_status)"
cat "$log"
rm -f "$log"
# pytest's 5 (nothing collected) in one half is not a failure when the other half ran tests.
[ "$status" -eq 5 ] && [ "$second_status" -eq 0 ] && status=0
[ "$second_status" -eq 5 ] && second_status=0
[ "$status" -ne 0 ] && exit "$status"
exit "$second_status"
