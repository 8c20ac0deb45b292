"""The one place that knows the transports by name and builds them from the command-line options.

``--backend http`` (the default) speaks the management HTTP API (``backends/http/``); ``--backend ctl``
runs ``rabbitmqctl`` (``backends/ctl/``). For either, this module builds the engine's ``Backend``, the
administration commands' ``AdminOps`` and the apply lock's transport. Each builder touches only what its
transport needs: the ctl transport never resolves the HTTP connection settings (no URL, password or HTTP
client is looked at behind the user's back), and the HTTP transport never starts ``rabbitmqctl``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rabbitadmin.errors import UsageError
from rabbitadmin.suggest import unknown_value

if TYPE_CHECKING:
    from rabbitadmin.backends.admin_ops import AdminOps
    from rabbitadmin.backends.base import Backend
    from rabbitadmin.backends.ctl.runner import Rabbitmqctl
    from rabbitadmin.connection import ConnectionSettings
    from rabbitadmin.engine.apply_lock import LockTransport

#: The transports, by the name ``--backend`` takes, with what they speak (for help and errors).
TRANSPORTS: dict[str, str] = {"http": "the management HTTP API", "ctl": "rabbitmqctl"}
DEFAULT_TRANSPORT = "http"
#: Requests in flight at once over HTTP when ``--parallel`` is not given.
HTTP_PARALLELISM = 16


def check_transport(name: str) -> str:
    """``name`` if it names a transport; ``UsageError`` (exit 2) otherwise."""
    if name not in TRANSPORTS:
        raise UsageError(unknown_value("backend", name, TRANSPORTS))
    return name


@dataclass(frozen=True)
class TransportOptions:
    """What the global options say about the transport.

    ``settings``: called only by the HTTP transport (it resolves the URL and password). ``ctl``: the
    rabbitmqctl options (``node``, ``rabbitmqctl``, ``prefix``, ``cookie_file``, ``timeout``), each falling
    back to its ``RABBITADMIN_*`` variable. ``parallel`` (``--parallel``): HTTP requests in flight at once
    (default 16), or rabbitmqctl processes at once (default: the runner's own bound, 3); None: the default.
    """

    name: str
    settings: Callable[[], ConnectionSettings]
    ctl: Mapping[str, Any] = field(default_factory=dict)
    parallel: int | None = None
    #: ``apply --create-with`` (auto, import, amqp: ``amqp_eligibility.CreateWith``).
    create_with: str = "auto"
    #: Told once (stderr) when AMQP declares are not used at all.
    notice: Callable[[str], None] | None = None
    #: The user the HTTP settings name (``--user``, ``RABBITADMIN_USER``, a target's): the ctl transport keeps
    #: its permissions from a prune (``CtlBackend.kept_user``).
    user: str | None = None

    def __post_init__(self) -> None:
        check_transport(self.name)


def engine_backend(options: TransportOptions) -> Backend:
    """The engine's ``Backend`` for plan, apply, export, audit and the tutorials."""
    from rabbitadmin.backends.amqp_eligibility import CreateWith

    if options.name == "ctl":
        from rabbitadmin.backends.ctl.backend import CtlBackend

        return CtlBackend(
            ctl=_runner(options),
            create_with=CreateWith(options.create_with),
            on_notice=options.notice,
            kept_user=options.user,
        )
    from rabbitadmin.backends.http.backend import HttpBackend

    return HttpBackend(
        options.settings(),
        parallelism=options.parallel or HTTP_PARALLELISM,
        create_with=CreateWith(options.create_with),
        on_notice=options.notice,
    )


def admin_ops(options: TransportOptions) -> AdminOps:
    """The administration commands' operations (users, vhosts, permissions, queues, listings)."""
    if options.name == "ctl":
        from rabbitadmin.backends.ctl.admin import CtlAdmin

        return CtlAdmin(_runner(options))
    from rabbitadmin.backends.http.admin import HttpAdmin

    return HttpAdmin(options.settings())


def lock_transport(options: TransportOptions, backend: Backend) -> LockTransport:
    """How the apply lock is taken: on the node through rabbitmqctl with the ctl transport (``backend``
    itself), else over AMQP with the HTTP transport's connection settings."""
    if options.name == "ctl":
        from typing import cast

        from rabbitadmin.engine.apply_lock import LockTransport

        return cast(LockTransport, backend)
    from rabbitadmin.engine.apply_lock import AmqpTransport

    # On a cluster, the lock is taken on the node the backend talks to (its own AMQP port).
    node_settings = getattr(backend, "node_settings", None)
    return AmqpTransport(node_settings() if node_settings is not None else options.settings())


def _runner(options: TransportOptions) -> Rabbitmqctl:
    from rabbitadmin.backends.ctl.runner import rabbitmqctl_from_options

    runner = rabbitmqctl_from_options(options.ctl)
    if options.parallel is not None:
        runner = dataclasses.replace(runner, max_concurrent=options.parallel)
    return runner
