"""``python -m rabbitadmin.tutorials``: the ``tutorial`` commands with the global options of ``rabbitadmin``.

Equivalent to ``rabbitadmin tutorial ...``; handy where the main command is not on the PATH.
"""

from __future__ import annotations

import typer

from rabbitadmin.cli import main_callback
from rabbitadmin.tutorials.cli import tutorial_app

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)
app.callback()(main_callback)
app.add_typer(tutorial_app, name="tutorial")

if __name__ == "__main__":
    app()
