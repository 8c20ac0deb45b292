"""Everyday administration commands, over the management API or rabbitmqctl (``--backend ctl``).

``register(app)`` adds the groups ``users``, ``vhosts``, ``permissions``, ``queues``, ``exchanges``,
``bindings``, ``connections``, ``channels`` and ``consumers`` to the main command; ``register_daily(app)``
adds ``overview``, ``health-check``, ``passwords``, ``plugins``, ``policies``, ``feature-flags`` and
``definitions``. The two load separately (``cli.RootGroup``): each adds only the groups it names.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add every administration group to ``app``."""
    from rabbitadmin.admin import connections, listings, permissions, queues, users, vhosts

    del connections  # importing it adds `close` to the connections group, which must hold it when added here

    app.add_typer(users.app, name="users")
    app.add_typer(vhosts.app, name="vhosts")
    app.add_typer(permissions.app, name="permissions")
    app.add_typer(queues.app, name="queues")
    app.add_typer(listings.exchanges_app, name="exchanges")
    app.add_typer(listings.bindings_app, name="bindings")
    app.add_typer(listings.connections_app, name="connections")
    app.add_typer(listings.channels_app, name="channels")
    app.add_typer(listings.consumers_app, name="consumers")


def register_daily(app: typer.Typer) -> None:
    """Add the everyday commands (issue 16.11) to ``app``."""
    from rabbitadmin.admin import definitions_cmd, health, passwords_cmd, plugins, policies
    app.command("overview")(health.overview)
    app.command("health-check")(health.health_check)
    app.add_typer(passwords_cmd.app, name="passwords")
    app.add_typer(plugins.app, name="plugins")
    app.add_typer(policies.policies_app, name="policies")
    app.add_typer(policies.feature_flags_app, name="feature-flags")
    app.add_typer(definitions_cmd.app, name="definitions")
