"""The one YAML rule of the loader that PyYAML lacks: a number with an exponent is a float.

A number with an exponent and no sign in it, or no point (``1e3``, ``1.0e20``, ``1e-05``, ``0E0``) is a float
in JSON and YAML 1.2, a string to PyYAML's YAML 1.1 rules. RabbitMQ's own exports write floats so (``1.0e20``),
and so does Python's json (``1e-05``): read as strings, a definitions file the server accepted planned a change
to a string, and an export did not plan back clean. The loader (``loader._LocatedLoader``) and the early read's
name scanner (``early_read.vhost_names``) resolve scalars with it alike.
"""

from __future__ import annotations

import re

import yaml

EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$")
_FIRST_CHARACTERS = list("-+0123456789.")


def add_exponent_floats(resolver: type[yaml.resolver.BaseResolver]) -> None:
    """Teach ``resolver`` (a class; PyYAML copies the table to it on the first addition) ``EXPONENT_FLOAT``."""
    resolver.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, _FIRST_CHARACTERS)
