"""Named targets: servers an operator reaches often, described once in a TOML file.

The file is ``targets.toml`` in the platform's user config directory (``platformdirs.user_config_dir``:
``~/.config/rabbitadmin/targets.toml`` on Linux), or the file ``RABBITADMIN_CONFIG`` names::

    [targets.prod]
    url = ["https://mq1:15671", "https://mq2:15671"]   # one URL, or a cluster's nodes (first reachable wins)
    user = "admin"
    password_env = "PROD_RABBITMQ_PASSWORD"             # or password_file = "~/.secrets/prod"
    ca_bundle = "~/certs/prod-ca.pem"

    [targets.prod.vars]                                 # values for ${name} in a topology (variables.py)
    env = "prod"
    max_length = 100000

    [groups.all]                                        # several targets at once: --target all (fleet.py)
    targets = ["dev", "staging", "prod"]

A literal ``password`` is refused: the file holds where the password comes from, never the password.
The tool only reads this file. Every problem is reported with the file, line and key
(``TargetsError``, exit 2), all at once.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rabbitadmin.backends.factory import TRANSPORTS
from rabbitadmin.errors import Problem, TargetsError, UsageError
from rabbitadmin.model import Secret
from rabbitadmin.suggest import did_you_mean, unknown_value
from rabbitadmin.variables import check_name, value_text

CONFIG_ENV = "RABBITADMIN_CONFIG"
TARGET_ENV = "RABBITADMIN_TARGET"

#: Each key a target may hold and the TOML type(s) it takes.
KEYS: dict[str, tuple[type, ...]] = {
    "url": (str, list),
    "user": (str,),
    "password_env": (str,),
    "password_file": (str,),
    "ca_bundle": (str,),
    "client_cert": (str,),
    "client_key": (str,),
    "insecure": (bool,),
    "timeout": (int, float),
    "amqp_port": (int,),
    "backend": (str,),
    "node": (str,),
    "rabbitmqctl": (str,),
    "ctl_prefix": (str, list),
    "erlang_cookie_file": (str,),
    "ctl_timeout": (int, float),
    "parallel": (int,),
    "description": (str,),
    "vars": (dict,),
}
#: Each key a group may hold.
GROUP_KEYS: dict[str, tuple[type, ...]] = {"targets": (list,), "description": (str,)}
#: Keys naming files: ``~`` is expanded and a relative path is taken from the config file's directory.
PATH_KEYS = ("password_file", "ca_bundle", "client_cert", "client_key", "erlang_cookie_file", "rabbitmqctl")
SECRET_KEYS = ("password", "pass", "secret", "erlang_cookie", "cookie")


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The targets file: ``RABBITADMIN_CONFIG``, else ``targets.toml`` in the user config directory."""
    env = os.environ if environ is None else environ
    override = env.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # only where the targets file is looked for: not every command's start-up

    return Path(platformdirs.user_config_dir("rabbitadmin")) / "targets.toml"


@dataclass(frozen=True)
class Target:
    """One named target, as validated: ``urls`` (one or more management API URLs), the rest optional."""

    name: str
    urls: tuple[str, ...] = ()
    user: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    insecure: bool = False
    timeout: float | None = None
    amqp_port: int | None = None
    backend: str | None = None
    node: str | None = None
    rabbitmqctl: str | None = None
    ctl_prefix: str | tuple[str, ...] | None = None
    erlang_cookie_file: str | None = None
    ctl_timeout: float | None = None
    parallel: int | None = None
    description: str | None = None
    #: Values for ``${name}`` in a topology (text), from the target's ``vars`` table.
    vars: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    line: int | None = field(default=None, compare=False)

    def password_source(self) -> str:
        """Where the password comes from, for people (never the password)."""
        if self.password_env:
            state = "set" if self.password_env in os.environ else "not set"
            return f"environment variable {self.password_env} ({state})"
        if self.password_file:
            return f"file {self.password_file}"
        return "none (the URL's, RABBITADMIN_PASSWORD or --password-file)"

    def password(self, environ: Mapping[str, str] | None = None) -> Secret | None:
        """The password from ``password_env`` or ``password_file``; ``UsageError`` when the variable is unset
        or the file unreadable (naming them, never a value)."""
        env = os.environ if environ is None else environ
        if self.password_env:
            if self.password_env not in env:
                raise UsageError(f"target {self.name!r}: its password_env variable {self.password_env} is not set")
            return Secret(env[self.password_env])
        if self.password_file:
            from rabbitadmin.connection import read_password_file

            return read_password_file(self.password_file)
        return None

    def shown(self) -> dict[str, Any]:
        """The target for ``targets show``: every setting, and where the password comes from."""
        values: dict[str, Any] = {"name": self.name}
        for key in KEYS:
            if key in ("url", "password_env", "password_file"):
                continue
            value = getattr(self, key)
            if value not in (None, False, ()):
                values[key] = list(value) if isinstance(value, tuple) else value
        values["urls"] = list(self.urls)
        values["password"] = self.password_source()
        values.pop("vars", None)
        if self.vars:
            values["vars"] = dict(self.vars)
        return values


@dataclass(frozen=True)
class Group:
    """A named list of targets (``[groups.NAME] targets = [...]``): ``--target NAME`` runs on all of them."""

    name: str
    targets: tuple[str, ...]
    description: str | None = None
    line: int | None = field(default=None, compare=False)

    def shown(self) -> dict[str, Any]:
        values: dict[str, Any] = {"name": self.name, "targets": list(self.targets)}
        if self.description:
            values["description"] = self.description
        return values


@dataclass(frozen=True)
class TargetsFile:
    """The parsed file: ``path`` and the ``targets`` by name (in the file's order)."""

    path: Path
    targets: dict[str, Target]
    exists: bool = True
    groups: dict[str, Group] = field(default_factory=dict)

    def get(self, name: str) -> Target:
        """The target ``name``; ``UsageError`` (with a "did you mean") when the file has none of that name."""
        try:
            return self.targets[name]
        except KeyError:
            known = ", ".join(self.targets) or "none"
            where = str(self.path) if self.exists else f"{self.path} (no such file)"
            groups = f"; groups: {', '.join(self.groups)}" if self.groups else ""
            raise UsageError(
                f"no target {name!r} in {where}{did_you_mean(name, [*self.targets, *self.groups])}; "
                f"targets: {known}{groups}"
            ) from None

    def resolve(self, names: Sequence[str]) -> list[Target]:
        """The targets ``names`` stand for: each a target, or a group (its targets, in its order); a target
        named twice runs once. ``UsageError`` for a name that is neither."""
        chosen: dict[str, Target] = {}
        for name in names:
            group = self.groups.get(name)
            for member in group.targets if group is not None else (name,):
                chosen.setdefault(member, self.get(member))
        return list(chosen.values())

    def is_fleet(self, names: Sequence[str]) -> bool:
        """True when ``names`` choose several targets, or a group (even of one): each target then gets its
        own heading and a line in the summary (``fleet.py``)."""
        return len(set(names)) > 1 or any(name in self.groups for name in names)


def load_targets(path: Path | None = None) -> TargetsFile:
    """Read and validate the targets file (a missing file holds no targets).

    Raises ``TargetsError`` listing every problem: TOML syntax (with tomllib's line and column), unknown keys
    (with a "did you mean"), wrong types, a literal password, a bad backend.
    """
    path = config_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return TargetsFile(path, {}, exists=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the targets file {path}: {exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError carries the position only in its message: "(at line 3, column 8)".
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        raise TargetsError([Problem(f"not valid TOML: {exc}", file=str(path), line=line)]) from None
    return _validate(path, text, document)


def _validate(path: Path, text: str, document: dict[str, Any]) -> TargetsFile:
    lines = _Lines(text)
    problems: list[Problem] = []

    def problem(message: str, line: int | None, where: str) -> None:
        problems.append(Problem(message, file=str(path), line=line, field=where))

    for key in document:
        if key not in ("targets", "groups"):
            unknown = f"unknown top-level key {key!r}{did_you_mean(key, ['targets', 'groups'])}"
            problem(unknown, lines.key(None, key), key)
    raw = document.get("targets", {})
    if not isinstance(raw, dict):
        problem("must be a table of targets ([targets.NAME])", lines.key(None, "targets"), "targets")
        raw = {}
    targets: dict[str, Target] = {}
    for name, body in raw.items():
        where = f"targets.{name}"
        header = lines.table(name)
        if not isinstance(body, dict):
            problem("must be a table ([targets.NAME])", header, where)
            continue
        values: dict[str, Any] = {}
        for key, value in body.items():
            line = lines.key(name, key)
            if key in SECRET_KEYS:
                problem(
                    f"a literal {key} is not allowed in the targets file: use password_env (a variable's name) "
                    "or password_file (a file holding it)",
                    line,
                    f"{where}.{key}",
                )
                continue
            if key not in KEYS:
                problem(f"unknown key {key!r}{did_you_mean(key, KEYS)}", line, f"{where}.{key}")
                continue
            message = _check_value(key, value)
            if message:
                problem(message, line, f"{where}.{key}")
                continue
            if key == "vars":
                values[key] = _check_vars(value, lines, name, f"{where}.vars", problem)
                continue
            values[key] = _expand(key, value, path.parent)
        if "password_env" in values and "password_file" in values:
            problem("give password_env or password_file, not both", header, where)
        urls = values.pop("url", ())
        urls = (urls,) if isinstance(urls, str) else tuple(urls)
        prefix = values.pop("ctl_prefix", None)
        targets[name] = Target(
            name=name,
            urls=urls,
            ctl_prefix=tuple(prefix) if isinstance(prefix, list) else prefix,
            line=header,
            **values,
        )
    groups = _validate_groups(document.get("groups", {}), targets, lines, problem)
    if problems:
        raise TargetsError(problems)
    return TargetsFile(path, targets, groups=groups)


Report = Any  # problem(message, line, where): the validator's collector


def _check_vars(table: dict[str, Any], lines: _Lines, target: str, where: str, problem: Report) -> dict[str, str]:
    """A target's ``vars`` table: names (``variables.check_name``) and plain values (string, number, boolean)."""
    found: dict[str, str] = {}
    for name, value in table.items():
        line = lines.key(f"{target}.vars", name) or lines.key(target, "vars")
        message = check_name(name)
        if message is None and (isinstance(value, dict | list) or not isinstance(value, str | int | float | bool)):
            message = f"a variable's value is a string, a number or a boolean, got {type(value).__name__}"
        if message:
            problem(message, line, f"{where}.{name}")
            continue
        found[name] = value_text(value)
    return found


def _validate_groups(raw: Any, targets: dict[str, Target], lines: _Lines, problem: Report) -> dict[str, Group]:
    """``[groups.NAME]`` tables: ``targets`` (a non-empty list of target names, not groups), ``description``."""
    if not isinstance(raw, dict):
        problem("must be a table of groups ([groups.NAME])", lines.key(None, "groups"), "groups")
        return {}
    groups: dict[str, Group] = {}
    for name, body in raw.items():
        where = f"groups.{name}"
        header = lines.table(name, "groups")
        if not isinstance(body, dict):
            problem("must be a table ([groups.NAME] with targets = [...])", header, where)
            continue
        if name in targets:
            problem(f"{name!r} names a target too: give the group another name", header, where)
        for key in body:
            if key not in GROUP_KEYS:
                line = lines.key(name, key, "groups")
                problem(f"unknown key {key!r}{did_you_mean(key, GROUP_KEYS)}", line, f"{where}.{key}")
        members = body.get("targets")
        line = lines.key(name, "targets", "groups") or header
        if not isinstance(members, list) or not members or not all(isinstance(m, str) and m for m in members):
            problem("expected targets = a non-empty list of target names", line, f"{where}.targets")
            continue
        for member in members:
            if member in raw:
                problem(f"{member!r} is a group: a group lists targets, not groups", line, f"{where}.targets")
            elif member not in targets:
                hint = did_you_mean(member, targets)
                problem(f"no target {member!r} in this file{hint}", line, f"{where}.targets")
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            problem("expected a string", lines.key(name, "description", "groups"), f"{where}.description")
            description = None
        groups[name] = Group(name, tuple(dict.fromkeys(members)), description, header)
    return groups


def _check_value(key: str, value: Any) -> str | None:
    """Why ``value`` is wrong for ``key``, or None."""
    allowed = KEYS[key]
    if isinstance(value, bool) and bool not in allowed:
        return f"expected {_names(allowed)}, got a boolean"
    if not isinstance(value, allowed):
        return f"expected {_names(allowed)}, got {type(value).__name__}"
    if isinstance(value, list):
        if not value or not all(isinstance(item, str) and item for item in value):
            return "expected a non-empty list of strings"
        if key == "url":
            return next((m for m in map(_url_problem, value) if m), None)
    if key == "url" and isinstance(value, str):
        return _url_problem(value)
    return _check_range(key, value)


def _check_range(key: str, value: Any) -> str | None:
    if key == "backend" and value not in TRANSPORTS:
        return unknown_value("backend", value, TRANSPORTS)
    if key in ("timeout", "ctl_timeout", "parallel", "amqp_port") and not value > 0:
        return "must be positive"
    if key == "parallel" and value > 64:
        return "must be at most 64"
    return None


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {url!r}"
    if parts.password is not None:
        return "a URL must not carry a password: use password_env or password_file"
    return None


def _names(types: tuple[type, ...]) -> str:
    words = {
        str: "a string", list: "a list", bool: "true or false", int: "an integer", float: "a number",
        dict: "a table",
    }  # fmt: skip
    return " or ".join(dict.fromkeys(words[t] for t in types))


def _expand(key: str, value: Any, base: Path) -> Any:
    if key not in PATH_KEYS or not isinstance(value, str):
        return value
    if key == "rabbitmqctl" and "/" not in value:
        return value  # a command name, looked up on PATH
    expanded = Path(value).expanduser()
    return str(expanded if expanded.is_absolute() else base / expanded)


class _Lines:
    """Line numbers of tables and keys in the TOML text (tomllib gives none for values): best effort."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def table(self, name: str, section: str = "targets") -> int | None:
        """The line of ``[section.name]`` (``name`` may be dotted: ``prod.vars``)."""
        parts = [rf"(?:{re.escape(p)}|\"{re.escape(p)}\"|'{re.escape(p)}')" for p in name.split(".")]
        dotted = r"\s*\.\s*".join([section, *parts])
        pattern = re.compile(rf"^\s*\[\s*{dotted}\s*\]")
        return next((i + 1 for i, line in enumerate(self.lines) if pattern.match(line)), None)

    def key(self, target: str | None, key: str, section: str = "targets") -> int | None:
        start = 0 if target is None else (self.table(target, section) or 0)
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=|^\s*\[\s*{re.escape(key)}\b")
        for index in range(start, len(self.lines)):
            stripped = self.lines[index].lstrip()
            if target is not None and stripped.startswith("[") and not stripped.startswith("[["):
                break  # the next table: the key is not in this one
            if pattern.match(self.lines[index]):
                return index + 1
        return start or None
