"""Everyday administration commands, over the management API or rabbitmqctl (``--backend ctl``).

``register(app)`` adds the groups ``users``, ``vhosts``, ``permissions``, ``queues``, ``exchanges``,
``bindings``, ``connections``, ``channels`` and ``consumers`` to the main command.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add every administration group to ``app``."""
    from rabbitadmin.admin import listings, permissions, queues, users, vhosts

    app.add_typer(users.app, name="users")
    app.add_typer(vhosts.app, name="vhosts")
    app.add_typer(permissions.app, name="permissions")
    app.add_typer(queues.app, name="queues")
    app.add_typer(listings.exchanges_app, name="exchanges")
    app.add_typer(listings.bindings_app, name="bindings")
    app.add_typer(listings.connections_app, name="connections")
    app.add_typer(listings.channels_app, name="channels")
    app.add_typer(listings.consumers_app, name="consumers")
