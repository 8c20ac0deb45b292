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

# Routing pictures and the report's browser test: Graphviz's `dot` (graph --format svg/html) and Chromium
# (headless, in the report test). A separate block so other package lists merge cleanly.
if ! command -v dot >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing graphviz chromium (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
    --no-install-recommends graphviz chromium >/dev/null
fi

# debootstrap builds two cached roots: Debian 13 for RabbitMQ 4.0 (sandbox --rabbitmq 4.0, the suite's second
# server version) and a bare Debian 12 that tests/ansible/test_fresh_debian.py bootstraps with Ansible.
if ! command -v debootstrap >/dev/null 2>&1 && [ ! -x /usr/sbin/debootstrap ]; then
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
  # The distribution was called `rabbitadmin` before, a name that belongs to another project on PyPI.
  # Its editable install left src/rabbitadmin.egg-info, which would still show that name to pip.
  .venv/bin/python -m pip uninstall -y -q rabbitadmin >/dev/null 2>&1 || true
  rm -rf src/rabbitadmin.egg-info
  .venv/bin/python -m pip install -q -e '.[dev,ansible]'
  touch "$stamp"
fi

