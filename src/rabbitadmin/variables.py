"""Variables in a topology: ``${name}`` in a YAML scalar, so one file serves dev, staging and prod.

Values come from the chosen target's ``vars`` table in the targets file and from ``--var name=value``
(the command line wins; docs/fleets.md). Substitution runs on the parsed YAML node tree, before the
document is built and validated, so every validation rule sees the substituted value and the vhosts a
file declares (the read that starts early, ``engine/prefetch.py``) are the substituted names.

- ``${name}`` is replaced by the value's text. In a plain (unquoted) scalar the result is read again as
  YAML would read it had it been written there: ``max-length: ${max}`` with ``max=1000`` is the integer
  1000; in a quoted scalar it stays a string.
- ``$${`` is a literal ``${``. A scalar without ``${`` is left as it is (``$`` alone means nothing).
- An undefined or malformed reference is a ``Problem`` with the file, line, column and field; the caller
  raises every problem at once, before anything is sent to a server.
- A variable never gives a secret: a reference in a ``password`` or ``password_hash`` value is refused
  (use ``{env: NAME}`` or ``{file: PATH}``), and a variable whose name says it is a secret is refused
  where variables are defined (``check_name``).
- Definitions files (RabbitMQ's own export format) are taken literally: nothing is substituted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from rabbitadmin.errors import Problem, UsageError
from rabbitadmin.suggest import did_you_mean

#: A variable's name: a letter or underscore, then letters, digits, ``_``, ``-`` or ``.``.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
#: A reference (group 2 the name), or its escape ``$${...}`` (group 1 is the extra ``$``).
_REFERENCE = re.compile(r"(\$?)\$\{([^{}]*)\}")
#: Words that make a variable's name look like a secret's: such variables are refused.
SECRET_WORDS = ("password", "passwd", "secret", "token", "cookie", "credential")
#: Topology fields whose value is a secret: a variable may not stand in them.
SECRET_FIELDS = frozenset({"password", "password_hash"})

_STR = "tag:yaml.org,2002:str"


def check_name(name: str) -> str | None:
    """Why ``name`` cannot be a variable's name, or None."""
    if not NAME.match(name):
        return f"{name!r} is not a variable name (a letter or _, then letters, digits, _, - or .)"
    lowered = name.lower()
    if any(word in lowered for word in SECRET_WORDS):
        return (
            f"variable {name!r} looks like a secret: variables are shown in plans and by `targets show`; give a "
            "password in the topology as {env: NAME} or {file: PATH}"
        )
    return None


def value_text(value: Any) -> str:
    """A variable's value as the text put in place of ``${name}`` (TOML booleans as YAML writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """``--var name=value`` options to a mapping (a later one wins); ``UsageError`` naming a bad one."""
    variables: dict[str, str] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep:
            raise UsageError(f"--var {assignment!r}: expected NAME=VALUE")
        problem = check_name(name.strip())
        if problem:
            raise UsageError(f"--var: {problem}")
        variables[name.strip()] = value
    return variables


def references(text: str) -> list[str]:
    """The names ``text`` refers to (escapes left out), in order."""
    return [m.group(2) for m in _REFERENCE.finditer(text) if not m.group(1)]


def expand(text: str, variables: Mapping[str, str]) -> tuple[str, list[str]]:
    """``text`` with every ``${name}`` replaced; (the result, the problems: undefined or malformed names)."""
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "${" + match.group(2) + "}"
        name = match.group(2)
        if not NAME.match(name):
            problems.append(f"${{{name}}} is not a variable reference: {check_name(name)}")
            return match.group(0)
        if name not in variables:
            problems.append(f"variable ${{{name}}} is not defined{_defined(name, variables)}")
            return match.group(0)
        return variables[name]

    result = _REFERENCE.sub(replace, text)
    unclosed = _REFERENCE.sub("", text)
    if "${" in unclosed:
        problems.append("'${' without a closing '}' (write $${ for a literal ${)")
    return result, problems


def _defined(name: str, variables: Mapping[str, str]) -> str:
    if not variables:
        return " (no variables are defined: give them in the target's vars table or with --var NAME=VALUE)"
    return f"{did_you_mean(name, variables)} (defined: {', '.join(sorted(variables))})"


def substitute(
    root: yaml.Node | None, variables: Mapping[str, str], filename: str, loader: Any
) -> list[Problem]:
    """Replace ``${name}`` in every string scalar under ``root`` in place; return the problems found.

    ``loader`` re-resolves a plain scalar's type after substitution (``max-length: ${max}`` becomes an int).
    Shared nodes (YAML aliases) are substituted once.
    """
    problems: list[Problem] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str, str | None]] = [(root, "", None)] if root is not None else []
    while stack:
        node, path, key = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in reversed(node.value):
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                stack.append((value_node, f"{path}.{name}" if path else str(name), str(name)))
                stack.append((key_node, path or "(top level)", None))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, f"{path}[{i}]", None) for i, child in reversed(list(enumerate(node.value))))
        elif isinstance(node, yaml.ScalarNode) and node.tag == _STR and "${" in node.value:
            problems.extend(_substitute_scalar(node, path, key, variables, filename, loader))
    return problems


def _substitute_scalar(
    node: yaml.ScalarNode,
    path: str,
    key: str | None,
    variables: Mapping[str, str],
    filename: str,
    loader: Any,
) -> list[Problem]:
    mark = node.start_mark

    def located(message: str) -> Problem:
        return Problem(message, filename, mark.line + 1, mark.column + 1, path)

    if key in SECRET_FIELDS and references(node.value):
        return [located(f"a variable cannot give a {key}: use {{env: NAME}} or {{file: PATH}}, which are never shown")]
    value, found = expand(node.value, variables)
    if found:
        return [located(message) for message in found]
    node.value = value
    if not node.style:  # plain: read the result as YAML would read it written there
        node.tag = loader.resolve(yaml.ScalarNode, value, (True, False))
    return []
