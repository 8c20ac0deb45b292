#!/usr/bin/env bash
# Installs what rabbitadmin needs on a Debian or Ubuntu machine, idempotently:
# RabbitMQ from the distribution (its system service is not needed: rabbitadmin runs a private node),
# Python's venv module, and a virtualenv in .venv with rabbitadmin and its development tools.
# Sourced by demo.sh and test.sh; safe to run again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
if [ -z "$PYTHON" ]; then missing+=(python3 python3-venv); PYTHON=python3
elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then missing+=(python3-venv); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  # Keep the distribution's own RabbitMQ service from starting: rabbitadmin starts private nodes.
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  [ "$policy_added" -eq 1 ] && as_root rm -f /usr/sbin/policy-rc.d
fi

# RabbitMQ 4.0 (sandbox --rabbitmq 4.0, and the test suite's second server version) runs from a Debian 13
# root that rabbitadmin builds with debootstrap on first use.
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "==> installing debootstrap (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
    --no-install-recommends debootstrap >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating the virtualenv .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.rabbitadmin-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing rabbitadmin into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev,ansible]'
  touch "$stamp"
fi
