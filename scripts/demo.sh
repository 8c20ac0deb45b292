#!/usr/bin/env bash
# The main job, on a fresh Debian machine: install what is missing, start a private RabbitMQ node,
# apply topology.yaml (showing the plan first), and show it working.
# The node keeps running afterwards so you can explore; stop it with:
#   .venv/bin/rabbitadmin sandbox stop --dir .sandbox/demo
# RABBITADMIN_DEMO_RABBITMQ=4.0 runs RabbitMQ 4.0.5 instead of the host's 3.10 (see docs/sandbox.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh

RA=.venv/bin/rabbitadmin
NODE_DIR="$ROOT/.sandbox/demo"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "starting a private RabbitMQ node in $NODE_DIR"
"$RA" sandbox start --dir "$NODE_DIR" ${RABBITADMIN_DEMO_RABBITMQ:+--rabbitmq "$RABBITADMIN_DEMO_RABBITMQ"}
eval "$("$RA" sandbox env --dir "$NODE_DIR")"

# myuser's password: from the environment if you set it, else generated once and kept in a private file.
if [ -z "${MYUSER_PASSWORD:-}" ]; then
  secret_file="$ROOT/.sandbox/myuser.password"
  if [ ! -s "$secret_file" ]; then
    (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(18))' > "$secret_file")
  fi
  MYUSER_PASSWORD="$(cat "$secret_file")"
  echo "myuser's password is in $secret_file"
fi
export MYUSER_PASSWORD

step "rabbitadmin validate topology.yaml"
"$RA" validate topology.yaml
step "rabbitadmin plan topology.yaml"
"$RA" plan topology.yaml
step "rabbitadmin apply topology.yaml --yes"
"$RA" apply topology.yaml --yes
step "rabbitadmin plan topology.yaml --detailed-exitcode   (a second run has nothing to do)"
"$RA" plan topology.yaml --detailed-exitcode
step "rabbitadmin export --vhost myproject   (the live server, as a topology)"
"$RA" export --vhost myproject

if "$RA" tutorial --help >/dev/null 2>&1; then
  step "hello world, as myuser on vhost myproject"
  "$RA" tutorial run send
  "$RA" tutorial run receive --count 1 --timeout 10
fi

step "done"
echo "The node is still running. Point rabbitadmin at it with:"
echo "  eval \"\$($RA sandbox env --dir $NODE_DIR)\""
echo "Stop it with:  $RA sandbox stop --dir $NODE_DIR"
