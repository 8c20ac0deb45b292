#!/usr/bin/python
"""Ansible module ``rabbitadmin_topology``: apply a rabbitadmin topology with the project's own engine.

The module runs where the broker's management API is reachable (usually the broker host itself) under a
Python interpreter that has rabbitadmin installed (set ``ansible_python_interpreter`` to it).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections import ChainMap
from typing import Any

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

DOCUMENTATION = r"""
module: rabbitadmin_topology
short_description: Apply a rabbitadmin topology (vhosts, users, permissions, exchanges, queues, bindings)
description:
  - Loads and validates a topology file, reads the server's state over the management HTTP API, computes the
    plan and applies it with rabbitadmin's engine.
  - Check mode computes and returns the plan and writes nothing. Diff mode shows the rendered plan.
  - C(changed) is true exactly when the plan has changes (in check mode: when it would).
options:
  src:
    description: Path of the topology YAML file on the managed host. Exactly one of I(src) and I(content).
    type: path
  content:
    description: The topology YAML itself.
    type: str
  url:
    description: Management API base URL.
    type: str
    default: http://127.0.0.1:15672
  login_user:
    description: Administrator the module connects as.
    type: str
    required: true
  login_password:
    description: Its password (never logged). Exactly one of I(login_password) and I(login_password_file).
    type: str
  login_password_file:
    description: A file on the managed host holding the password on its first line.
    type: path
  ca_bundle:
    description: CA bundle for an HTTPS management endpoint.
    type: path
  validate_certs:
    type: bool
    default: true
  prune:
    description: Also delete objects in the topology's vhosts that the topology does not declare.
    type: bool
    default: false
  allow_data_loss:
    description: Allow deleting or replacing queues that hold messages.
    type: bool
    default: false
  amqp_port:
    description:
      - The broker's AMQP port on the host of I(url). The apply lock is an exclusive queue declared over AMQP
        (see I(lock)).
    type: int
    default: 5672
  lock:
    description:
      - Take the per-vhost apply lock, as C(rabbitadmin apply) does, before reading the server, and hold it to
        the end of the apply, so that two applies (this module, the CLI, C(rabbitadmin tutorial provision))
        never write the same vhost at once. The lock is the exclusive queue C(rabbitadmin.apply-lock) in each
        vhost, held over AMQP (I(amqp_port)) and gone with its holder. Check mode never takes it.
      - C(false) applies without it, like C(rabbitadmin apply --no-lock).
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait for a vhost whose apply lock another apply holds (0 fails at once), like
        C(rabbitadmin apply --lock-timeout). The module warns when it starts waiting; past the timeout it
        fails, writing nothing, with a message naming the holder (host, process id, user, start time).
    type: float
    default: 30
  secret_env:
    description:
      - Environment variables the topology's C({env: NAME}) password sources read, e.g. a Vault variable
        for C(MYUSER_PASSWORD). Never logged.
    type: dict
    default: {}
"""

RETURN = r"""
plan:
  description: The plan as data (rabbitadmin's Plan.to_dict()); empty changes when nothing to do.
  type: dict
summary:
  description: Counts of create/update/replace/delete.
  type: dict
result:
  description: What apply did (absent in check mode or when there was nothing to do).
  type: dict
problems:
  description: Every problem of an invalid topology (file:line: field: message).
  type: list
"""


def _argument_spec() -> dict[str, Any]:
    return {
        "src": {"type": "path"},
        "content": {"type": "str"},
        "url": {"type": "str", "default": "http://127.0.0.1:15672"},
        "login_user": {"type": "str", "required": True},
        "login_password": {"type": "str", "no_log": True},
        "login_password_file": {"type": "path", "no_log": False},
        "ca_bundle": {"type": "path"},
        "validate_certs": {"type": "bool", "default": True},
        "prune": {"type": "bool", "default": False},
        "allow_data_loss": {"type": "bool", "default": False},
        "amqp_port": {"type": "int", "default": 5672},
        "lock": {"type": "bool", "default": True},
        "lock_timeout": {"type": "float", "default": 30.0},
        "secret_env": {"type": "dict", "default": {}, "no_log": True},
    }


def main() -> None:
    """Entry point run by Ansible on the managed host."""
    module = AnsibleModule(
        argument_spec=_argument_spec(),
        mutually_exclusive=[("src", "content"), ("login_password", "login_password_file")],
        required_one_of=[("src", "content"), ("login_password", "login_password_file")],
        supports_check_mode=True,
    )
    try:
        # Imported here so a host without rabbitadmin gets a clear failure, not a traceback.
        from rabbitadmin import errors
        from rabbitadmin.backends.http.backend import HttpBackend
        from rabbitadmin.connection import ConnectionSettings, read_password_file
        from rabbitadmin.engine import EngineSession, LockOptions, PartialApply, check_safety
        from rabbitadmin.engine.apply_lock import AmqpTransport
        from rabbitadmin.model import Secret
        from rabbitadmin.render import render_plan, render_result
        from rabbitadmin.urls import parse_management_url
    except ImportError as exc:
        module.fail_json(
            msg=f"rabbitadmin is not importable by {sys.executable}: {exc}; install it (role rabbitmq_server) "
            "and point ansible_python_interpreter at that Python"
        )
        return

    params = module.params
    # A password in the URL's userinfo is masked in everything Ansible prints (the URL is not a no_log option).
    with contextlib.suppress(errors.RabbitAdminError):
        in_url = parse_management_url(params["url"]).password
        if in_url is not None:
            module.no_log_values.add(in_url.reveal())
    # The topology's {env: NAME} password sources read secret_env first, then the module's environment.
    environ = ChainMap({str(k): str(v) for k, v in (params["secret_env"] or {}).items()}, os.environ)

    @functools.cache
    def settings() -> ConnectionSettings:
        password = (
            read_password_file(params["login_password_file"])
            if params["login_password_file"]
            else Secret(params["login_password"])
        )
        return ConnectionSettings(
            url=params["url"],
            user=params["login_user"],
            password=password,
            verify_tls=params["validate_certs"],
            ca_bundle=params["ca_bundle"],
            amqp_port=params["amqp_port"],
        )

    def waiting(vhost: str, holder: object) -> None:
        who = f"held by {holder}" if holder is not None else "held by another apply"
        module.warn(f"waited up to {params['lock_timeout']:g} s for the apply lock of vhost {vhost!r}, {who}")

    # Check mode only reads, like `rabbitadmin plan`: it takes no lock.
    lock = (
        LockOptions(lambda _backend: AmqpTransport(settings()), timeout=params["lock_timeout"], on_wait=waiting)
        if params["lock"] and not module.check_mode
        else None
    )
    session = EngineSession(lambda: HttpBackend(settings()), lock=lock)
    try:
        try:
            src = params["src"]
            desired = (
                session.load_file(src, environ=environ)
                if src
                else session.load_text(params["content"], "<content>", environ=environ)
            )
        except errors.TopologyError as exc:
            module.fail_json(msg=f"invalid topology, nothing written: {exc}", problems=[str(p) for p in exc.problems])
            return
        except errors.RabbitAdminError as exc:
            module.fail_json(msg=f"cannot load the topology, nothing written: {exc}")
            return
        plan = session.plan(desired, prune=params["prune"])
        output: dict[str, Any] = {"plan": plan.to_dict(), "summary": plan.summary()}
        rendered = render_plan(plan)
        if module._diff:
            output["diff"] = {"prepared": rendered}
        try:
            # The same safety rules as apply, so check mode fails exactly when the real run would.
            check_safety(plan, allow_data_loss=params["allow_data_loss"])
        except errors.Refused as exc:
            module.fail_json(msg=f"nothing written: {exc}", **output)
        if module.check_mode or plan.is_empty:
            module.exit_json(changed=not plan.is_empty, **output)
        try:
            result = session.apply_plan(plan, allow_data_loss=params["allow_data_loss"])
        except PartialApply as exc:
            output["result"] = exc.result.to_dict()
            module.fail_json(msg=str(exc), changed=bool(exc.result.done), **output)
        output["result"] = result.to_dict()
        module.exit_json(changed=True, msg=render_result(result), **output)
    except errors.RabbitAdminError as exc:
        module.fail_json(msg=str(exc))
    finally:
        session.close()


if __name__ == "__main__":
    main()
