"""Turn a parsed topology document into a ``Topology``, collecting every problem before giving up.

Each problem names the file, the line and the field (``vhosts[0].queues[1].durable``). Nothing here talks
to a server: validation is complete offline, so a bad file is refused before the first write.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from rabbitadmin import passwords
from rabbitadmin.argument_rules import (
    LEADER_LOCATORS_3,
    MASTER_LOCATORS_3,
    MAX_STREAM_SEGMENT_BYTES,
    Target,
    check_arguments,
    is_max_age,
)
from rabbitadmin.audit.patterns import pattern_error
from rabbitadmin.definitions_input import (
    REFERENCED,
    SourcePaths,
    is_definitions_document,
    topology_document_from_definitions,
)
from rabbitadmin.errors import InputFileError, Problem, TopologyError
from rabbitadmin.input_files import MAX_PASSWORD_FILE_BYTES, read_bounded
from rabbitadmin.kinds import (
    APPLY_TO,
    APPLY_TO_FROM_4,
    BUILTIN_EXCHANGE_TYPES,
    KINDS,
    POLICY_KEYS,
    QUEUE_TYPES,
    SERVER_EXCHANGE_TYPES,
    SERVER_OWNED_GLOBAL_PARAMETERS,
    USER_LIMITS,
    VHOST_LIMITS,
    is_reserved_queue_name,
    is_server_owned_exchange,
    policy_key_known,
)
from rabbitadmin.located import LocatedDict, LocatedList, ambiguous_number, plain
from rabbitadmin.masking import masked_fields
from rabbitadmin.model import (
    Binding,
    Exchange,
    GlobalParameter,
    Key,
    OperatorPolicy,
    Origin,
    Parameter,
    Permission,
    Policy,
    Queue,
    Secret,
    ServerReference,
    TopicPermission,
    Topology,
    User,
    UserLimit,
    Vhost,
    VhostLimit,
    new_origin,
    new_queue,
)
from rabbitadmin.normalize import (
    BOOLEAN_ARGUMENTS,
    INTEGER_ARGUMENTS,
    normalize_arguments,
    normalize_parameter_value,
    normalize_tags,
)
from rabbitadmin.parameter_rules import check_parameter
from rabbitadmin.secret_text import is_secret_key, uri_holds_mask
from rabbitadmin.suggest import did_you_mean
from rabbitadmin.uri_secrets import MASK, json_strings, uri_values
from rabbitadmin.value_text import value_text

ROOT_FIELDS = ("vhosts", "users", "permissions", "topic_permissions", "global_parameters", "expect")
STATES = ("present", "absent")
#: Kinds whose references ``cross_check`` verifies, naming each object by its path.
CROSS_CHECKED = frozenset({"permission", "topic_permission", "binding"})
MAX_NAME_BYTES = 255  # AMQP short string
NAME_RE_FORBIDDEN = re.compile(r"[\x00-\x1f]")
#: A name ``_Validator.string`` takes without a further look: short enough in any UTF-8, no control characters.
_SHORT_NAME = re.compile(rf"[^\x00-\x1f]{{1,{MAX_NAME_BYTES // 4}}}")
#: The fields a queue item may have and still take the fast path (``_Validator.plain_queue``).
_QUEUE_FAST_FIELDS = frozenset({"name", "type", "durable", "auto_delete"})
_BINDING_FAST_FIELDS = frozenset({"source", "destination", "destination_type", "routing_key"})
_DESTINATION_TYPES = frozenset({"queue", "exchange"})


class _Validator:
    def __init__(
        self, filename: str, base_dir: Path, resolve_secrets: bool, environ: Mapping[str, str] | None = None
    ) -> None:
        self.filename = filename
        self.base_dir = base_dir
        self.resolve_secrets = resolve_secrets
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.problems: list[Problem] = []
        self.topology = Topology()
        self.consume = False  # see validate_document
        self.seen: dict[str, dict[Key, int]] = {}  # kind -> key -> line (no (kind, key) tuple per object)
        self.paths: dict[tuple[str, Key], str] = {}
        # The entries of grants and bindings, so that a broken reference points at its field's line.
        self.items: dict[tuple[str, Key], LocatedDict] = {}
        self.warnings: list[Problem] = []
        # Bindings' arguments as written, checked once the source exchange's type is known (cross_check).
        self.binding_arguments: dict[Key, tuple[LocatedDict, str]] = {}
        #: True for a server definitions file: it may carry plain-text passwords (the server accepts them).
        self.definitions = False

    # -- reporting ---------------------------------------------------------------------------------------
    def problem(self, message: str, line: int | None, field: str | None) -> None:
        self.problems.append(Problem(message, self.filename, line, None, field))

    def warning(self, message: str, line: int | None, field: str | None) -> None:
        self.warnings.append(Problem(message, self.filename, line, None, field))

    def origin(self, line: int) -> Origin:
        return Origin(self.filename, line)

    # -- field readers -----------------------------------------------------------------------------------
    def mapping(self, value: Any, line: int, path: str) -> LocatedDict | None:
        if isinstance(value, LocatedDict):
            return value
        self.problem(f"expected a mapping, got {_type_name(value)}", line, path)
        return None

    def sequence(self, value: Any, line: int, path: str) -> LocatedList | None:
        if value is None:
            return None
        if isinstance(value, LocatedList):
            return value
        self.problem(f"expected a list, got {_type_name(value)}", line, path)
        return None

    def known_fields(self, item: LocatedDict, allowed: tuple[str, ...], path: str) -> None:
        for key in item:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                self.problem(
                    f"unknown field {key!r}{suggestion}; allowed: {', '.join(allowed)}",
                    item.line_of(key),
                    f"{path}.{key}" if path else str(key),  # a top-level field is named alone
                )

    def string(
        self, item: LocatedDict, key: str, path: str, *, required: bool = False, name: bool = False
    ) -> str | None:
        value = item.get(key)
        if value is None:
            if required:
                self.problem("is required", item.line, f"{path}.{key}")
            return None
        if value.__class__ is str:
            text: str = value
            # Short names cannot break any rule below (control characters excepted): the common case.
            if not name or (0 < len(text) <= MAX_NAME_BYTES // 4 and not NAME_RE_FORBIDDEN.search(text)):
                return text
        elif isinstance(value, bool):
            # YAML reads unquoted yes/no/on/off/true/false as booleans; what was written is lost by then.
            message = "expected a string, got a boolean (YAML reads unquoted yes, no, on, off as booleans: quote it)"
            self.problem(message, item.line_of(key), f"{path}.{key}")
            return None
        elif not isinstance(value, int | float):
            self.problem(f"expected a string, got {_type_name(value)}", item.line_of(key), f"{path}.{key}")
            return None
        else:
            text = str(value)  # a WrittenInt says what the file wrote: name: 010 is "010", not YAML's 8
        line = item.line_of(key)
        if name:
            if text == "":
                self.problem("must not be empty", line, f"{path}.{key}")
                return None
            if len(text.encode("utf-8")) > MAX_NAME_BYTES:
                self.problem(f"is longer than {MAX_NAME_BYTES} bytes", line, f"{path}.{key}")
                return None
            if NAME_RE_FORBIDDEN.search(text):
                self.problem("contains control characters", line, f"{path}.{key}")
                return None
        return text

    def boolean(self, item: LocatedDict, key: str, path: str, default: bool) -> bool:
        if key not in item or item[key] is None:
            return default
        value = item[key]
        if not isinstance(value, bool):
            self.problem(f"expected true or false, got {value_text(value)}", item.line_of(key), f"{path}.{key}")
            return default
        return value

    def tags(self, item: LocatedDict, key: str, path: str) -> tuple[str, ...] | None:
        if key not in item or item[key] is None:
            return None
        value = item[key]
        if isinstance(value, str):
            return normalize_tags(value)
        if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
            return normalize_tags(value)
        self.problem("expected a list of strings", item.line_of(key), f"{path}.{key}")
        return None

    def choice(self, item: LocatedDict, key: str, path: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(item, key, path)
        if value is None:
            return default
        if value not in choices:
            message = f"must be one of {', '.join(choices)}; got {value_text(value)}{did_you_mean(value, choices)}"
            self.problem(message, item.line_of(key), f"{path}.{key}")
            return default
        return value

    def state(self, item: LocatedDict, path: str) -> str:
        return self.choice(item, "state", path, STATES, "present")

    def arguments(self, item: LocatedDict, path: str) -> dict[str, Any]:
        if "arguments" not in item or item["arguments"] is None:
            return {}
        value = item["arguments"]
        line = item.line_of("arguments")
        if not isinstance(value, dict):
            self.problem(f"expected a mapping, got {_type_name(value)}", line, f"{path}.arguments")
            return {}
        # An export masks secrets in arguments as a plan does.
        self.export_masks(value, line, f"{path}.arguments", sources=False)
        for name, arg in value.items():
            arg_line = value.line_of(name) if isinstance(value, LocatedDict) else line
            field = f"{path}.arguments.{name}"
            message = _argument_shape_problem(name, arg)
            if message is not None:
                self.problem(message, arg_line, field)
        result: dict[str, Any] = plain(value)
        return result

    def server_rules(
        self, kind: Target, object_type: str | None, raw: Any, path: str, line: int, context: str = ""
    ) -> None:
        """Refuse (or warn about) what RabbitMQ itself would refuse in these arguments (argument_rules.py)."""
        if not isinstance(raw, dict) or not raw:
            return
        checked = {k: v for k, v in raw.items() if isinstance(k, str) and _argument_shape_problem(k, v) is None}
        for finding in check_arguments(kind, object_type, checked):
            arg_line = raw.line_of(finding.argument) if isinstance(raw, LocatedDict) else line
            report = self.problem if finding.severity == "error" else self.warning
            report(finding.message + context, arg_line, f"{path}.arguments.{finding.argument}")

    def regex(self, item: LocatedDict, key: str, path: str) -> str | None:
        value = self.string(item, key, path, required=True)
        if value is None:
            return None
        # The server compiles permission patterns with Erlang's re (PCRE), not Python's re.
        error = pattern_error(value)
        if error is not None:
            self.problem(error, item.line_of(key), f"{path}.{key}")
            return None
        return value

    def register(self, kind: str, key: Key, line: int, path: str, item: LocatedDict | None = None) -> bool:
        """Remember an object's key; a second declaration of the same key is a problem."""
        seen = self.seen.setdefault(kind, {})
        seen_at = seen.get(key)
        if seen_at is not None:
            self.problem(f"{kind} declared twice (first on line {seen_at})", line, path)
            return False
        seen[key] = line
        if kind in CROSS_CHECKED:  # only these are named again (by cross_check); memory for the rest
            self.paths[(kind, key)] = path
            if item is not None:  # a broken reference points at its field's line
                self.items[(kind, key)] = item
        return True

    def each(
        self,
        container: LocatedDict,
        key: str,
        path: str,
        handler: Callable[[LocatedDict, str], None],
        taken: Callable[[Any, int], bool] | None = None,
    ) -> None:
        """``handler(item, path)`` for each item of ``container[key]``; ``taken(raw, index)``, when given, may take
        an item first (a fast path that returns True once it has added the item; False leaves it to ``handler``)."""
        items = self.sequence(container.get(key), container.line_of(key), f"{path}{key}")
        if items is None:
            return
        for index, raw in enumerate(items):
            if taken is not None and taken(raw, index):
                if self.consume:
                    items[index] = None
                continue
            item_path = f"{path}{key}[{index}]"
            item = self.mapping(raw, items.line_of(index), item_path)
            if item is not None:
                handler(item, item_path)
            if self.consume:  # the item is read: let it go while the model grows (peak memory)
                items[index] = None

    # -- kinds -------------------------------------------------------------------------------------------
    def root(self, document: Any) -> None:
        if document is None:
            self.problem("the topology is empty", 1, None)
            return
        root = self.mapping(document, 1, "(top level)")
        if root is None:
            return
        self.known_fields(root, ROOT_FIELDS, "")
        self.each(root, "vhosts", "", self.vhost)
        self.each(root, "users", "", self.user)
        self.each(root, "permissions", "", self.permission)
        self.each(root, "topic_permissions", "", self.topic_permission)
        self.each(root, "global_parameters", "", self.global_parameter)

    def vhost(self, item: LocatedDict, path: str) -> None:
        fields = (
            "state",
            *(f.name for f in KINDS["vhost"].fields),
            "limits",
            "policies",
            "operator_policies",
            "parameters",
            "exchanges",
            "queues",
            "bindings",
        )
        # A vhost a definitions file's objects name but its vhosts do not (definitions_input._owner): not declared.
        referenced = item.pop(REFERENCED, None)
        self.known_fields(item, fields, path)
        name = self.string(item, "name", path, required=True, name=True)
        state = self.state(item, path)
        if name is None or not self.register("vhost", (name,), item.line, path):
            return
        if referenced is not None:
            self.server_reference("vhost", (name,), f"vhost {name!r}", item.line, path)
            untyped = set(_untyped_queues(name, item.get("queues")))  # before vhost_contents consumes the items
            self.vhost_contents(name, "classic", item, path)
            self.topology.server_typed_queues.update(key for key in untyped if key in self.topology.queues)
            return
        if state == "absent":
            self._only_identity(item, ("name", "state"), path)
            self.topology.mark_absent("vhost", (name,), self.origin(item.line))
            return
        default_type = self.string(item, "default_queue_type", path)
        if default_type is not None and default_type not in QUEUE_TYPES:
            self.problem(
                f"must be one of {', '.join(QUEUE_TYPES)}; got {value_text(default_type)}"
                + did_you_mean(default_type, QUEUE_TYPES),
                item.line_of("default_queue_type"),
                f"{path}.default_queue_type",
            )
            default_type = None
        self.topology.add(
            Vhost(
                name=name,
                description=self.string(item, "description", path),
                tags=self.tags(item, "tags", path),
                default_queue_type=default_type,
                tracing=self.boolean(item, "tracing", path, False) if item.get("tracing") is not None else None,
                origin=self.origin(item.line),
            )
        )
        self.vhost_contents(name, default_type or "classic", item, path)

    def vhost_contents(self, name: str, queue_default: str, item: LocatedDict, path: str) -> None:
        """A vhost's limits, policies, parameters, exchanges, queues and bindings."""
        for limit, value, line in self.limits(item, path, VHOST_LIMITS):
            self.topology.add(VhostLimit(name, limit, value, origin=self.origin(line)))
        self.each(item, "policies", f"{path}.", lambda i, p: self.policy(Policy, name, i, p))
        self.each(item, "operator_policies", f"{path}.", lambda i, p: self.policy(OperatorPolicy, name, i, p))
        self.each(item, "parameters", f"{path}.", lambda i, p: self.parameter(name, i, p))
        self.each(item, "exchanges", f"{path}.", lambda i, p: self.exchange(name, i, p))
        self.queues(name, queue_default, item, path)
        self.each(
            item,
            "bindings",
            f"{path}.",
            lambda i, p: self.binding(name, i, p),
            partial(self.plain_binding, name, f"{path}.bindings", self.seen.setdefault("binding", {})),
        )

    def user(self, item: LocatedDict, path: str) -> None:
        fields = ("name", "state", "tags", "password", "password_hash", "hashing_algorithm", "limits")
        self.known_fields(item, fields, path)
        name = self.string(item, "name", path, required=True, name=True)
        state = self.state(item, path)
        if name is None or not self.register("user", (name,), item.line, path):
            return
        if state == "absent":
            self._only_identity(item, ("name", "state"), path)
            self.topology.mark_absent("user", (name,), self.origin(item.line))
            return
        algorithm = self.choice(
            item, "hashing_algorithm", path, tuple(passwords.ALGORITHMS), passwords.DEFAULT_ALGORITHM
        )
        password = self.password(item, path)
        if password is not None and isinstance(item.get("password"), str):
            algorithm = passwords.DEFAULT_ALGORITHM  # the server's own for a plain-text password
        if password is not None and self.resolve_secrets and passwords.is_blank(password.reveal()):
            # The server stores it, then refuses every login with it (rabbit_auth_backend_internal).
            self.problem(
                f"the password is empty: {passwords.BLANK_PASSWORD_REFUSAL}",
                item.line_of("password"),
                f"{path}.password",
            )
        password_hash = self.string(item, "password_hash", path)
        if password is not None and password_hash is not None:
            self.problem("give either password or password_hash, not both", item.line, path)
        if password_hash is not None and password_hash != "" and not passwords.is_valid_hash(password_hash, algorithm):
            self.problem(
                f"is not a RabbitMQ {algorithm} password hash", item.line_of("password_hash"), f"{path}.password_hash"
            )
        self.topology.add(
            User(
                name=name,
                tags=self.tags(item, "tags", path),
                password=password,
                password_hash=password_hash,
                hashing_algorithm=algorithm,
                origin=self.origin(item.line),
            )
        )
        for limit, value, line in self.limits(item, path, USER_LIMITS):
            self.topology.add(UserLimit(name, limit, value, origin=self.origin(line)))

    def password(self, item: LocatedDict, path: str) -> Secret | None:
        if "password" not in item or item["password"] is None:
            return None
        value = item["password"]
        line = item.line_of("password")
        field = f"{path}.password"
        if isinstance(value, str) and self.definitions:
            return self.plain_password(value, item, path)
        if not isinstance(value, LocatedDict):
            self.problem(
                "plain-text passwords are not accepted in a topology; use {env: VARIABLE}, {file: PATH} "
                "or password_hash",
                line,
                field,
            )
            return None
        self.known_fields(value, ("env", "file"), field)
        if len([k for k in ("env", "file") if k in value]) != 1:
            self.problem("give exactly one of env or file", line, field)
            return None
        text = self.secret_source(value, field)
        return None if text is None else Secret(text)

    def secret_source(self, value: LocatedDict, field: str, *, first_line: bool = True) -> str | None:
        """The text ``{env: NAME}`` or ``{file: PATH}`` names ("" when secrets are not resolved); None after
        a problem. ``first_line``: a file's first line, stripped (a password), else its whole text."""
        source_key = "env" if "env" in value else "file"
        if not isinstance(value[source_key], str) or not value[source_key]:
            self.problem("expected a non-empty string", value.line_of(source_key), f"{field}.{source_key}")
            return None
        if not self.resolve_secrets:
            return ""
        if "env" in value:
            variable = str(value["env"])
            secret = self.environ.get(variable)
            if secret is None:
                self.problem(f"the environment variable {variable} is not set", value.line_of("env"), f"{field}.env")
                return None
            return secret
        source = self.base_dir / str(value["file"])
        try:
            text = read_bounded(source, MAX_PASSWORD_FILE_BYTES, allow_pipes=False)
        except InputFileError as exc:
            self.problem(f"cannot read {source}: {exc}", value.line_of("file"), f"{field}.file")
            return None
        if not first_line:
            return text.strip()
        lines = text.splitlines()
        return lines[0].strip() if lines else ""

    def plain_password(self, value: str, item: LocatedDict, path: str) -> Secret:
        """A definitions file's plain-text ``password`` (the server's import takes it and hashes it with its
        own configured module, SHA-256 by default, whatever ``hashing_algorithm`` says): taken, hashed
        locally like any password, never shown; the file is warned about (``validate --strict`` refuses it,
        audit RA026 flags it)."""
        line = item.line_of("password")
        self.warning(
            "a plain-text password sits in this file: anyone who can read the file has it; use a topology with "
            "{env: VARIABLE} or {file: PATH}, or password_hash",
            line,
            f"{path}.password",
        )
        self.topology.plain_secrets.append((f"user:{item.get('name')}", self.origin(line)))
        if "hashing_algorithm" in item:
            self.warning(
                "ignored with a plain-text password: the server hashes it with its own algorithm (SHA-256 unless "
                "configured otherwise), and so does rabbitadmin",
                item.line_of("hashing_algorithm"),
                f"{path}.hashing_algorithm",
            )
        return Secret(value)

    def permission(self, item: LocatedDict, path: str) -> None:
        self.known_fields(item, ("user", "vhost", "state", "configure", "write", "read"), path)
        user = self.string(item, "user", path, required=True, name=True)
        vhost = self.string(item, "vhost", path, required=True, name=True)
        state = self.state(item, path)
        if user is None or vhost is None or not self.register("permission", (user, vhost), item.line, path, item):
            return
        if state == "absent":
            self._only_identity(item, ("user", "vhost", "state"), path)
            self.topology.mark_absent("permission", (user, vhost), self.origin(item.line))
            return
        configure, write, read = (self.regex(item, op, path) for op in ("configure", "write", "read"))
        if configure is None or write is None or read is None:
            return
        self.topology.add(Permission(user, vhost, configure, write, read, origin=self.origin(item.line)))

    def topic_permission(self, item: LocatedDict, path: str) -> None:
        self.known_fields(item, ("user", "vhost", "exchange", "state", "write", "read"), path)
        user = self.string(item, "user", path, required=True, name=True)
        vhost = self.string(item, "vhost", path, required=True, name=True)
        # "" (the default exchange) is accepted by the server as any other name (rabbit_auth_backend_internal:
        # set_topic_permissions/6 checks only that the vhost exists); topic authorisation never consults it.
        exchange = self.string(item, "exchange", path, required=True, name=item.get("exchange") != "")
        state = self.state(item, path)
        if user is None or vhost is None or exchange is None:
            return
        key = (user, vhost, exchange)
        if not self.register("topic_permission", key, item.line, path, item):
            return
        if state == "absent":
            self._only_identity(item, ("user", "vhost", "exchange", "state"), path)
            self.topology.mark_absent("topic_permission", key, self.origin(item.line))
            return
        write, read = self.regex(item, "write", path), self.regex(item, "read", path)
        if write is None or read is None:
            return
        self.topology.add(TopicPermission(user, vhost, exchange, write, read, origin=self.origin(item.line)))

    def exchange(self, vhost: str, item: LocatedDict, path: str) -> None:
        fields = ("name", "state", "type", "durable", "auto_delete", "internal", "arguments")
        self.known_fields(item, fields, path)
        name = self.string(item, "name", path, required=True, name=True)
        state = self.state(item, path)
        if name is None:
            return
        if is_server_owned_exchange(name):
            self.problem("the default and amq.* exchanges belong to the server", item.line_of("name"), f"{path}.name")
            return
        if not self.register("exchange", (vhost, name), item.line, path):
            return
        if state == "absent":
            self._only_identity(item, ("name", "state"), path)
            self.topology.mark_absent("exchange", (vhost, name), self.origin(item.line))
            return
        ex_type = self.string(item, "type", path)
        if ex_type is None:
            ex_type = "direct"
        if ex_type not in BUILTIN_EXCHANGE_TYPES and not ex_type.startswith("x-"):
            self.problem(
                f"unknown exchange type {ex_type!r}{did_you_mean(ex_type, BUILTIN_EXCHANGE_TYPES)}; "
                f"built-in types are {', '.join(BUILTIN_EXCHANGE_TYPES)} "
                "(plugin types start with x-)",
                item.line_of("type"),
                f"{path}.type",
            )
        self.server_rules("exchange", ex_type, item.get("arguments"), path, item.line_of("arguments"))
        self.topology.add(
            Exchange(
                vhost=vhost,
                name=name,
                type=ex_type,
                durable=self.boolean(item, "durable", path, True),
                auto_delete=self.boolean(item, "auto_delete", path, False),
                internal=self.boolean(item, "internal", path, False),
                arguments=normalize_arguments(self.arguments(item, path)),
                origin=self.origin(item.line),
            )
        )

    def queue(self, vhost: str, default_type: str, item: LocatedDict, path: str) -> None:
        self.known_fields(item, ("name", "state", "type", "durable", "auto_delete", "arguments"), path)
        name = self.string(item, "name", path, required=True, name=True)
        state = self.state(item, path)
        if name is None:
            return
        if is_reserved_queue_name(name):
            self.problem(
                "queue names starting with amq. are reserved for the server", item.line_of("name"), f"{path}.name"
            )
            return
        if not self.register("queue", (vhost, name), item.line, path):
            return
        if state == "absent":
            self._only_identity(item, ("name", "state"), path)
            self.topology.mark_absent("queue", (vhost, name), self.origin(item.line))
            return
        raw_args = self.arguments(item, path)
        arg_type = raw_args.get("x-queue-type")
        if arg_type is not None and arg_type not in QUEUE_TYPES:
            arguments = item["arguments"]
            self.problem(
                f"must be one of {', '.join(QUEUE_TYPES)}; got {value_text(arg_type)}"
                f"{did_you_mean(str(arg_type), QUEUE_TYPES)}",
                arguments.line_of("x-queue-type") if isinstance(arguments, LocatedDict) else item.line_of("arguments"),
                f"{path}.arguments.x-queue-type",
            )
            arg_type = None
        q_type = self.choice(item, "type", path, QUEUE_TYPES, arg_type or default_type)
        if arg_type is not None and arg_type != q_type:
            self.problem(
                f"arguments.x-queue-type {arg_type!r} contradicts type {q_type!r}", item.line_of("arguments"), path
            )
        durable = self.boolean(item, "durable", path, True)
        auto_delete = self.boolean(item, "auto_delete", path, False)
        if q_type != "classic" and (not durable or auto_delete):
            self.problem(f"{q_type} queues must be durable and not auto_delete", item.line, path)
        self.server_rules("queue", q_type, item.get("arguments"), path, item.line_of("arguments"))
        self.topology.add(
            Queue(
                vhost=vhost,
                name=name,
                type=q_type,
                durable=durable,
                auto_delete=auto_delete,
                arguments=normalize_arguments(raw_args),
                origin=self.origin(item.line),
            )
        )

    def queues(self, vhost: str, default_type: str, container: LocatedDict, path: str) -> None:
        """A vhost's ``queues``: ``each`` with ``queue``, and ``plain_queue`` as its fast path."""
        self.each(
            container,
            "queues",
            f"{path}.",
            lambda i, p: self.queue(vhost, default_type, i, p),
            # What plain_queue reads for every item, looked up once per vhost (2 million items in a big file).
            partial(self.plain_queue, vhost, default_type, self.seen.setdefault("queue", {}), self.topology.queues),
        )

    def plain_queue(
        self, vhost: str, default_type: str, seen: dict[Key, int], queues: dict[Key, Queue], raw: Any, _index: int
    ) -> bool:
        """Add ``raw`` if it is the common queue item; True if it did.

        A big topology is mostly queues like ``{name: q.0000001}``: a mapping of known fields whose values
        are all as ``queue`` would take them without a word. Such an item is added here directly (no path
        text, no field readers: a third of validating 2 million queues); any other item, or one that would
        raise a problem (a duplicate, a long or odd name, a wrong type), is left to ``queue`` (False), so the
        problems and their messages are the same. ``seen`` and ``queues``: the validator's record of queue keys
        and the model's queues.
        """
        if raw.__class__ is not LocatedDict:
            return False
        name: Any = raw.get("name")
        q_type: Any
        durable: Any
        auto_delete: Any
        if len(raw) == 1 and name is not None:  # {name: ...} alone, most of a big file
            q_type, durable, auto_delete = default_type, True, False
        elif not raw.keys() <= _QUEUE_FAST_FIELDS:
            return False
        else:
            q_type = raw.get("type")
            durable = raw.get("durable")
            auto_delete = raw.get("auto_delete")
            if q_type is None:
                q_type = default_type
            if durable is None:
                durable = True
            if auto_delete is None:
                auto_delete = False
        key: Key = (vhost, name)
        if not (
            name.__class__ is str
            and _SHORT_NAME.fullmatch(name)  # as ``string``'s own shortcut: not too long, no control chars
            and key not in seen
            and q_type.__class__ is str
            and q_type in QUEUE_TYPES
            and durable.__class__ is bool
            and auto_delete.__class__ is bool
            and (q_type == "classic" or (durable and not auto_delete))
            and not is_reserved_queue_name(name)
        ):
            return False
        seen[key] = raw.line
        queues[key] = new_queue(vhost, name, q_type, durable, auto_delete, {}, new_origin(self.filename, raw.line))
        return True

    def plain_binding(self, vhost: str, list_path: str, seen: dict[Key, int], raw: Any, index: int) -> bool:
        """Add ``raw`` if it is the common binding item; True if it did (``plain_queue``'s twin).

        ``{source: ex, destination: q, routing_key: k}`` (and ``destination_type``), plain strings, a source that
        is not the default exchange, a destination ``string`` takes without a word, a key not seen before: added
        here with what ``binding`` records (the seen key, its path and item for ``cross_check``); anything else is
        left to ``binding`` (False), so problems and messages are the same. ``seen``: the record of binding keys.
        """
        if raw.__class__ is not LocatedDict or not raw.keys() <= _BINDING_FAST_FIELDS:
            return False
        source: Any = raw.get("source")
        destination: Any = raw.get("destination")
        dest_type: Any = raw.get("destination_type", "queue")
        routing_key: Any = raw.get("routing_key", "")
        if not (
            source.__class__ is str
            and source
            and destination.__class__ is str
            and _SHORT_NAME.fullmatch(destination)
            and dest_type.__class__ is str
            and dest_type in _DESTINATION_TYPES
            and routing_key.__class__ is str
        ):
            return False
        binding = Binding(vhost, source, dest_type, destination, routing_key, {}, None, self.origin(raw.line))
        key = binding.key
        if key in seen:
            return False  # a duplicate: binding says so
        seen[key] = raw.line
        self.paths[("binding", key)] = f"{list_path}[{index}]"
        self.items[("binding", key)] = raw
        self.topology.bindings[key] = binding
        return True

    def binding(self, vhost: str, item: LocatedDict, path: str) -> None:
        fields = ("source", "destination", "destination_type", "routing_key", "arguments", "state")
        self.known_fields(item, fields, path)
        source = self.string(item, "source", path, required=True)
        destination = self.string(item, "destination", path, required=True, name=True)
        dest_type = self.choice(item, "destination_type", path, ("queue", "exchange"), "queue")
        routing_key = self.string(item, "routing_key", path) or ""
        state = self.state(item, path)
        if source is None or destination is None:
            return
        if source == "":
            self.problem(
                "bindings of the default exchange are implicit and cannot be declared", item.line_of("source"), path
            )
            return
        binding = Binding(
            vhost=vhost,
            source=source,
            destination_type=dest_type,
            destination=destination,
            routing_key=routing_key,
            arguments=normalize_arguments(self.arguments(item, path)),
            origin=self.origin(item.line),
        )
        if not self.register("binding", binding.key, item.line, path, item):
            return
        if isinstance(item.get("arguments"), LocatedDict) and state != "absent":
            self.binding_arguments[binding.key] = (item["arguments"], path)
        if state == "absent":
            self.topology.mark_absent("binding", binding.key, self.origin(item.line))
        else:
            self.topology.add(binding)

    def limits(self, item: LocatedDict, path: str, known: tuple[str, ...]) -> list[tuple[str, int, int]]:
        """``limits: {max-connections: 10, ...}``: (name, value, line) of each; the server takes integers,
        a negative one meaning no limit (``rabbit_parameter_validation:integer/2``), and no other names."""
        raw = item.get("limits")
        if raw is None:
            return []
        field = f"{path}.limits"
        mapping = self.mapping(raw, item.line_of("limits"), field)
        if mapping is None:
            return []
        result = []
        for limit, value in mapping.items():
            line = mapping.line_of(limit)
            if limit not in known:
                hint = did_you_mean(str(limit), known)
                message = f"unknown limit {limit!r}{hint}; the server knows {', '.join(known)}"
                self.problem(message, line, f"{field}.{limit}")
            elif isinstance(value, bool) or not isinstance(value, int):
                message = f"must be a whole number (negative: no limit), got {value_text(value)}"
                self.problem(message, line, f"{field}.{limit}")
            else:
                result.append((str(limit), value, line))
        return result

    def policy(self, kind: type[Policy], vhost: str, item: LocatedDict, path: str) -> None:
        """A policy or operator policy of ``vhost``: what ``rabbit_policy:policy_validation/0`` (and
        ``operator_policy_validation/0``) would refuse is refused here."""
        self.known_fields(item, ("name", "state", "pattern", "definition", "priority", "apply_to"), path)
        name = self.string(item, "name", path, required=True, name=True)
        state = self.state(item, path)
        if name is None or not self.register(kind.kind, (vhost, name), item.line, path):
            return
        if state == "absent":
            self._only_identity(item, ("name", "state"), path)
            self.topology.mark_absent(kind.kind, (vhost, name), self.origin(item.line))
            return
        pattern = self.string(item, "pattern", path, required=True)
        if pattern is not None:
            error = pattern_error(pattern)  # the server compiles it with Erlang's re (PCRE)
            if error is not None:
                self.problem(error, item.line_of("pattern"), f"{path}.pattern")
                pattern = None
        priority = item.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int | float):
            self.problem(f"must be a number, got {value_text(priority)}", item.line_of("priority"), f"{path}.priority")
            priority = 0
        apply_to = self.string(item, "apply_to", path) or "all"
        if apply_to in APPLY_TO_FROM_4:
            self.warning(f"apply_to {apply_to!r} is refused by RabbitMQ before 4.0", item.line_of("apply_to"),
                         f"{path}.apply_to")  # fmt: skip
        elif apply_to not in APPLY_TO:
            choices = (*APPLY_TO, *APPLY_TO_FROM_4)
            hint = did_you_mean(apply_to, choices)
            message = f"must be one of {', '.join(choices)}; got {value_text(apply_to)}{hint}"
            self.problem(message, item.line_of("apply_to"), f"{path}.apply_to")
        definition = self.policy_definition(kind, item, path)
        if pattern is None or definition is None:
            return
        self.topology.add(kind(vhost, name, pattern, definition, priority, apply_to, origin=self.origin(item.line)))

    def policy_definition(self, kind: type[Policy], item: LocatedDict, path: str) -> dict[str, Any] | None:
        field = f"{path}.definition"
        if "definition" not in item:
            self.problem("is required", item.line, field)
            return None
        definition = self.mapping(item["definition"], item.line_of("definition"), field)
        if definition is None:
            return None
        if not definition:
            self.problem("must not be empty: the server refuses a policy that sets nothing", definition.line, field)
            return None
        if self.export_masks(definition, definition.line, field):
            return None
        operator = kind is OperatorPolicy
        for key, value in definition.items():
            line, key_field = definition.line_of(key), f"{field}.{key}"
            facts = POLICY_KEYS.get(str(key))
            if facts is None or (operator and not policy_key_known(str(key), None, operator=True)):
                allowed = [k for k in POLICY_KEYS if policy_key_known(k, None, operator=operator)]
                what = "an operator policy" if operator else "a policy"
                self.problem(f"{key!r} is not a key {what} may set{did_you_mean(str(key), allowed)}", line, key_field)
            elif facts.plugin:
                self.warning(f"{key!r} is known only with the {facts.plugin} plugin enabled", line, key_field)
            elif facts.mirrors:
                self.warning(f"{key!r}: classic queue mirroring was removed in RabbitMQ 4.0, whose server refuses "
                             "this key (3.x only)", line, key_field)  # fmt: skip
            elif not policy_key_known(str(key), (3, 10), operator=operator) or not policy_key_known(
                str(key), (4, 0), operator=operator
            ):
                self.warning(f"{key!r} is refused by some RabbitMQ versions (3.10 or 4.0)", line, key_field)
            message = ambiguous_number(value) or _policy_value_problem(str(key), value)
            if message is not None:
                self.problem(message, line, key_field)
            elif key == "delivery-limit" and value < 0:
                self.warning("a negative delivery-limit is refused before RabbitMQ 4.0 (4.0 on: no limit)", line,
                             key_field)  # fmt: skip
            elif key == "queue-master-locator" and value not in MASTER_LOCATORS_3:
                self.warning(f"{value!r} is refused before RabbitMQ 4.0 (3.x takes {', '.join(MASTER_LOCATORS_3)})",
                             line, key_field)  # fmt: skip
        together = [key for key in _FEDERATION_KEYS if key in definition]
        if len(together) > 1:
            self.problem(f"{' and '.join(together)} cannot be set together (the federation plugin refuses it)",
                         definition.line_of(together[-1]), f"{field}.{together[-1]}")  # fmt: skip
        if (mirroring := _mirroring_problem(definition)) is not None:
            anchor = "ha-mode" if "ha-mode" in definition else next(k for k in definition if str(k).startswith("ha-"))
            self.problem(mirroring, definition.line_of(anchor), f"{field}.{anchor}")
        result: dict[str, Any] = normalize_arguments(plain(definition))
        return result

    # -- runtime and global parameters ------------------------------------------------------------------
    def parameter(self, vhost: str, item: LocatedDict, path: str) -> None:
        """A runtime parameter of ``vhost``: component, name, value (what the component's plugin refuses is
        refused here: ``parameter_rules``)."""
        self.known_fields(item, ("component", "name", "state", "value"), path)
        component = self.string(item, "component", path, required=True, name=True)
        name = self.string(item, "name", path, required=True, name=True)
        state = self.state(item, path)
        if component is None or name is None or not self.register("parameter", (vhost, component, name), item.line,
                                                                   path):  # fmt: skip
            return
        if state == "absent":
            self._only_identity(item, ("component", "name", "state"), path)
            self.topology.mark_absent("parameter", (vhost, component, name), self.origin(item.line))
            return
        resolved = self.parameter_value(item, path)
        if resolved is None:
            return
        value, inline, from_source = resolved
        for finding in check_parameter(component, name, value):
            if from_source and not self.resolve_secrets and finding.severity == "error":
                continue  # the value is not read: its checks wait for the real one
            line, field = _finding_place(item, finding.key, path)
            (self.problem if finding.severity == "error" else self.warning)(finding.message, line, field)
        value = normalize_parameter_value(value)
        self.topology.add(Parameter(vhost, component, name, value, origin=self.origin(item.line), inline_secret=inline))

    def global_parameter(self, item: LocatedDict, path: str) -> None:
        """A global parameter (``cluster_name``...); the node's own (``internal_cluster_id``) are refused."""
        self.known_fields(item, ("name", "state", "value"), path)
        name = self.string(item, "name", path, required=True, name=True)
        state = self.state(item, path)
        if name is None or not self.register("global_parameter", (name,), item.line, path):
            return
        if name in SERVER_OWNED_GLOBAL_PARAMETERS:
            self.problem(f"{name!r} is written by the node itself and cannot be managed", item.line_of("name"),
                         f"{path}.name")  # fmt: skip
            return
        if state == "absent":
            self._only_identity(item, ("name", "state"), path)
            self.topology.mark_absent("global_parameter", (name,), self.origin(item.line))
            return
        resolved = self.parameter_value(item, path)
        if resolved is None:
            return
        value, inline, _ = resolved
        if value == MASK and is_secret_key(name):  # its name names a secret: an export masks all of its value
            self.problem(f"holds {MASK}, where an export masks a secret (the parameter's name names one): restore "
                         "the real value, read it with {env: NAME} or {file: PATH}, or export with "
                         "--include-secrets --output-file FILE", item.line_of("value"), f"{path}.value")  # fmt: skip
            return
        if name == "cluster_name" and not isinstance(value, str):
            # The server stores another value (PUT answers 204), then fails every AMQP handshake, whose server
            # properties carry the cluster name (3.10.8 and 4.0.5: clients get IncompatibleProtocolError).
            self.problem("must be a string: the server stores another value but then fails every AMQP "
                         "connection's handshake", item.line_of("value"), f"{path}.value")  # fmt: skip
            return
        self.topology.add(
            GlobalParameter(name, normalize_parameter_value(value), origin=self.origin(item.line), inline_secret=inline)
        )

    def parameter_value(self, item: LocatedDict, path: str) -> tuple[Any, bool, bool] | None:
        """(value, a URI password is written inline, part of it came from env/file); None after a problem.

        The whole value, or any ``*uri`` key of it (or an item of such a list), may be ``{env: NAME}`` or
        ``{file: PATH}``: the whole value's text is JSON, a URI's is the URI."""
        field = f"{path}.value"
        if "value" not in item:
            self.problem("is required", item.line, field)
            return None
        raw = item["value"]  # null included: the server keeps a null value (a component's checks may refuse it)
        if _is_source(raw):
            text = self.secret_source(raw, field, first_line=False)
            if text is None:
                return None
            if not self.resolve_secrets:
                return {}, False, True
            try:
                return json.loads(text), False, True
            except json.JSONDecodeError as exc:
                self.problem(f"the text {_source_name(raw)} gives is not JSON: {exc.msg} (line {exc.lineno})",
                             raw.line, field)  # fmt: skip
                return None
        sourced = False
        failed = False

        def resolve(value: Any, where: str, uri_key: bool) -> Any:
            nonlocal sourced, failed
            if uri_key and _is_source(value):
                sourced = True
                text = self.secret_source(value, where)
                if text is None:
                    failed = True
                return text if self.resolve_secrets else "amqp://"
            if isinstance(value, dict):
                return {str(k): resolve(v, f"{where}.{k}", str(k).endswith("uri")) for k, v in value.items()}
            if isinstance(value, list):
                return [resolve(v, f"{where}[{i}]", uri_key) for i, v in enumerate(value)]
            return value

        if self.export_masks(raw, item.line_of("value"), field):
            return None
        value = resolve(raw, field, False)
        if failed:
            return None
        if any(uri_holds_mask(text) for text in json_strings(value)):  # a URI from {env:}/{file:} holding the mask
            self.problem(f"a URI holds the masked password {MASK} of an export: restore the real one, or read the "
                         "URI with {env: NAME} or {file: PATH}", item.line_of("value"), field)  # fmt: skip
            return None
        inline = bool(uri_values(plain(raw) if not sourced else _inline_only(raw)))
        return value, inline, sourced

    def export_masks(self, value: Any, line: int, field: str, *, sources: bool = True) -> bool:
        """True, after one problem per field, if ``value`` holds ``***`` where an export masks a secret (a
        secret-named key's value, a URI's password: ``masking.mask_secrets``): applied, it would replace the
        real secret with ``***``, so it is refused before any write. ``sources``: the field may be read with
        ``{env: NAME}`` or ``{file: PATH}`` (a parameter's value), which the message then offers."""
        found = masked_fields(value, field)
        for path, parent, key in found:
            where = parent.line_of(key) if isinstance(parent, LocatedDict | LocatedList) else line
            if uri_holds_mask(value if parent is None else parent[key]):
                read = " read the URI with {env: NAME} or {file: PATH}," if sources else ""
                message = (
                    f"a URI holds the masked password {MASK} of an export: restore the real one,{read} or export "
                    "with --include-secrets --output-file FILE"
                )
            else:
                message = (f"holds {MASK}, where an export masks a secret: restore the real value, or export with "
                           "--include-secrets --output-file FILE")  # fmt: skip
            self.problem(message, where, path)
        return bool(found)

    def _only_identity(self, item: LocatedDict, allowed: tuple[str, ...], path: str) -> None:
        for key in item:
            if key not in allowed:
                self.problem("an absent object takes only its identity fields", item.line_of(key), f"{path}.{key}")

    # -- cross references --------------------------------------------------------------------------------
    def server_reference(self, kind: str, key: Key, subject: str, line: int | None, field: str) -> None:
        """A definitions file names an object it does not declare: the server's own import takes the file when the
        server has the object (``rabbit_definitions``, 3.10.8 and 4.0.5, measured), and fails part-way (or, 3.10,
        drops the binding) when not. Accepted with a warning; the planner, which reads the server, refuses the
        plan when the server does not have it either (``engine.planner._check_server_references``)."""
        origin = self.origin(line) if line is not None else None
        self.topology.server_references.append(ServerReference(kind, key, origin, field))
        self.warning(f"{subject} is not in this file: it must exist on the server (plan and apply check it)",
                     line, field)  # fmt: skip

    def missing(self, kind: str, key: Key, subject: str, problem: str, line: int | None, field: str) -> None:
        """An object named but not declared: ``problem`` in a topology (a typo is caught before any write); in a
        definitions file, a reference to the server's object (``server_reference``), unless the file declares it
        absent."""
        if self.definitions and key not in self.topology.absent[kind]:
            self.server_reference(kind, key, subject, line, field)
        else:
            self.problem(problem, line, field)

    def cross_check(self) -> None:
        topo = self.topology
        present_vhosts = {key[0] for key in topo.vhosts}
        present_users = {key[0] for key in topo.users}
        grants: list[Permission | TopicPermission] = [*topo.permissions.values(), *topo.topic_permissions.values()]
        for perm in grants:
            line = perm.origin.line if perm.origin else None
            if perm.vhost not in present_vhosts:
                path, entry = self._placed(perm.kind, perm.key)
                where = entry.line_of("vhost") if entry else line
                subject = f"vhost {perm.vhost!r}"
                declared = f"{subject} is not declared (present) in this topology"
                self.missing("vhost", (perm.vhost,), subject, declared, where, f"{path}.vhost")
            if perm.user not in present_users:
                path, entry = self._placed(perm.kind, perm.key)
                where = entry.line_of("user") if entry else line
                subject = f"user {perm.user!r}"
                declared = f"{subject} is not declared (present) in this topology"
                self.missing("user", (perm.user,), subject, declared, where, f"{path}.user")
        # The model's own dicts answer ``in`` by key: no copy of 2 million queue keys into a set (peak memory).
        exchanges, queues = topo.exchanges, topo.queues
        for key, binding in topo.bindings.items():
            line = binding.origin.line if binding.origin else None
            if not is_server_owned_exchange(binding.source) and (binding.vhost, binding.source) not in exchanges:
                path, entry = self._placed("binding", key)
                self.missing(
                    "exchange",
                    (binding.vhost, binding.source),
                    f"source exchange {binding.source!r} in vhost {binding.vhost!r}",
                    f"source exchange {binding.source!r} is not declared in vhost {binding.vhost!r}",
                    entry.line_of("source") if entry else line,
                    f"{path}.source",
                )
            self.binding_rules(binding, key, line)
            targets = queues if binding.destination_type == "queue" else exchanges
            builtin = binding.destination_type == "exchange" and is_server_owned_exchange(binding.destination)
            if not builtin and (binding.vhost, binding.destination) not in targets:
                path, entry = self._placed("binding", key)
                self.missing(
                    binding.destination_type,
                    (binding.vhost, binding.destination),
                    f"destination {binding.destination_type} {binding.destination!r} in vhost {binding.vhost!r}",
                    f"destination {binding.destination_type} {binding.destination!r} is not declared in vhost "
                    f"{binding.vhost!r}",
                    entry.line_of("destination") if entry else line,
                    f"{path}.destination",
                )

    def _placed(self, kind: str, key: Key) -> tuple[str, LocatedDict | None]:
        """The path and the item an object of the file was written as (asked only for a problem's place: 10,000
        bindings or permissions need none)."""
        return self.paths.get((kind, key), kind), self.items.get((kind, key))

    def binding_rules(self, binding: Binding, key: Key, line: int | None) -> None:
        """A binding's arguments (``key``: the binding's) against its source exchange's type (x-match counts on
        headers exchanges)."""
        written = self.binding_arguments.get(key)
        if written is None:
            return
        source = self.topology.exchanges.get((binding.vhost, binding.source))
        source_type = source.type if isinstance(source, Exchange) else SERVER_EXCHANGE_TYPES.get(binding.source)
        if source_type is not None:
            context = f" (the source exchange {binding.source!r} is of type {source_type})"
            self.server_rules("binding", source_type, written[0], written[1], line or 0, context)


def _untyped_queues(vhost: str, queues: Any) -> Iterator[Key]:
    """The keys of the queue items in ``queues`` that name no type (no ``type``, no ``x-queue-type``)."""
    for item in queues if isinstance(queues, list) else ():
        arguments = item.get("arguments") if isinstance(item, dict) else None
        if not isinstance(item, dict) or item.get("type") is not None or not isinstance(item.get("name"), str):
            continue
        if not isinstance(arguments, dict) or arguments.get("x-queue-type") is None:
            yield (vhost, item["name"])


def _is_source(value: Any) -> bool:
    """``{env: NAME}`` or ``{file: PATH}``: a value read from elsewhere, not written in the file."""
    return isinstance(value, LocatedDict) and len(value) == 1 and next(iter(value)) in ("env", "file")


def _source_name(value: LocatedDict) -> str:
    return f"env {value['env']}" if "env" in value else f"file {value['file']}"


def _inline_only(value: Any) -> Any:
    """``value`` without its ``{env:}``/``{file:}`` parts (what the file itself holds)."""
    if _is_source(value):
        return None
    if isinstance(value, dict):
        return {k: _inline_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_inline_only(v) for v in value]
    return value


def _finding_place(item: LocatedDict, key: str, path: str) -> tuple[int, str]:
    """The line and field of a parameter finding about ``key`` of the item's value."""
    value = item.get("value")
    if key and isinstance(value, LocatedDict) and key in value:
        return value.line_of(key), f"{path}.value.{key}"
    return item.line_of("value") if "value" in item else item.line, f"{path}.value" + (f".{key}" if key else "")


def validate_document(
    document: Any,
    filename: str,
    *,
    base_dir: Path,
    resolve_secrets: bool = True,
    environ: Mapping[str, str] | None = None,
    consume: bool = False,
    definitions_vhost: str | None = None,
) -> Topology:
    """Validate a parsed document (topology or definitions) and build the desired ``Topology``.

    ``definitions_vhost``: the document is a per-vhost definitions export, imported into this vhost
    (``definitions_input.topology_document_from_definitions``); a topology document with it is a problem.

    ``environ``: where ``{env: NAME}`` password sources are read (default: the process environment).
    ``consume``: the caller will not read the document again, so each list item of its sections is
    dropped (set to None) once validated: a file of 2 million queues then never holds both the document
    and the model whole.
    """
    validator = _Validator(filename, base_dir, resolve_secrets, environ)
    source_paths: SourcePaths | None = None
    validator.consume = consume
    if is_definitions_document(document):
        source_paths = SourcePaths()
        document = topology_document_from_definitions(
            document, validator.problem, validator.warning, source_paths, into_vhost=definitions_vhost
        )
        validator.definitions = True
    elif definitions_vhost is not None:
        validator.problem("--vhost is for a per-vhost definitions export (JSON); this is a topology", 1, "")
    rewritten = len(validator.problems), len(validator.warnings)
    validator.root(document)
    validator.cross_check()
    if source_paths is not None:  # name the definitions file's own paths, not the regrouped ones
        validator.problems[rewritten[0] :] = [_at(p, source_paths) for p in validator.problems[rewritten[0] :]]
        validator.warnings[rewritten[1] :] = [_at(p, source_paths) for p in validator.warnings[rewritten[1] :]]
        references = validator.topology.server_references
        references[:] = [dataclasses.replace(r, field=source_paths.translate(r.field) or "") for r in references]
    from rabbitadmin.routing.expect import check_document as check_expectations  # the routing tables load lazily

    check_expectations(document, validator.topology, filename, validator.problem, valid_so_far=not validator.problems)
    if validator.problems:
        raise TopologyError(sorted(validator.problems, key=lambda p: (p.line or 0, p.field or "")))
    validator.topology.warnings = sorted(validator.warnings, key=lambda p: (p.line or 0, p.field or ""))
    return validator.topology


def _at(problem: Problem, paths: SourcePaths) -> Problem:
    return dataclasses.replace(problem, field=paths.translate(problem.field))


#: Policy keys whose value the server requires to be a whole number: (minimum, maximum or None). Sources:
#: ``rabbit_policies:validate_policy0/2`` and ``rabbit_mirror_queue_misc`` (ha-sync-batch-size), v3.10.8 and v4.0.5.
_POLICY_INTEGERS: dict[str, tuple[int, int | None]] = {
    "message-ttl": (0, None), "expires": (1, None), "max-length": (0, None), "max-length-bytes": (0, None),
    "max-in-memory-length": (0, None), "max-in-memory-bytes": (0, None), "consumer-timeout": (0, None),
    "stream-max-segment-size-bytes": (0, MAX_STREAM_SEGMENT_BYTES), "initial-cluster-size": (0, None),
    "stream-filter-size-bytes": (16, 255), "ha-sync-batch-size": (1, None),
}  # fmt: skip
#: Policy keys with a fixed set of values (rabbit_policies, rabbit_mirror_queue_misc, rabbit_queue_location_validator
#: at v3.10.8; queue-master-locator: the values of either version, 4.0's being the leader locators).
_POLICY_CHOICES: dict[str, tuple[Any, ...]] = {
    "dead-letter-strategy": ("at-most-once", "at-least-once"),
    "queue-mode": ("default", "lazy"),
    "queue-version": (1, 2),
    "overflow": ("drop-head", "reject-publish", "reject-publish-dlx"),
    "queue-leader-locator": LEADER_LOCATORS_3,
    "queue-master-locator": tuple(dict.fromkeys((*MASTER_LOCATORS_3, *LEADER_LOCATORS_3))),  # either version's
    "ha-mode": ("all", "exactly", "nodes"),
    "ha-sync-mode": ("manual", "automatic"),
    "ha-promote-on-shutdown": ("always", "when-synced"),
    "ha-promote-on-failure": ("always", "when-synced"),
}
#: Policy keys whose value must be a string (a binary, to the server).
_POLICY_STRINGS = (
    "alternate-exchange", "dead-letter-exchange", "dead-letter-routing-key", "federation-upstream",
    "federation-upstream-set", "federation-upstream-pattern",
)  # fmt: skip
#: rabbit_federation_parameters:validate_policy/1: at most one of these in a policy.
_FEDERATION_KEYS = ("federation-upstream", "federation-upstream-set", "federation-upstream-pattern")


def _policy_value_problem(key: str, value: Any) -> str | None:
    """What the server's policy validator says of ``value`` under ``key`` (None: accepted or not checked)."""
    if key in _POLICY_INTEGERS:
        low, high = _POLICY_INTEGERS[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"from {low} to {high:,}"
            return f"must be a whole number {bounds}, got {value_text(value)}"
    if key == "delivery-limit" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"must be a whole number, got {value_text(value)}"
    if key == "max-age" and not is_max_age(value):
        # rabbit_amqqueue:check_max_age: a number other than a string crashes the server's validator (HTTP 500).
        unit = "a string of a positive number and one unit (Y, M, D, h, m, s), e.g. '7D'"
        return f"must be {unit}; got {value_text(value)}"
    choices = _POLICY_CHOICES.get(key)
    if choices is not None and (isinstance(value, bool) or value not in choices):
        return f"must be one of {', '.join(map(str, choices))}; got {value_text(value)}"
    if key in _POLICY_STRINGS and not isinstance(value, str):
        return f"must be a string, got {value_text(value)}"
    if key == "federation-upstream-pattern" and (error := pattern_error(value)) is not None:
        return error
    return None


def _mirroring_problem(definition: Mapping[str, Any]) -> str | None:
    """What ``rabbit_mirror_queue_misc:validate_policy/1`` (3.x) says of the ha-* keys together (None: nothing),
    and the ha-mode modules' ``validate_policy/1`` of ha-params; each key's own values are checked apart."""
    mode, params = definition.get("ha-mode"), definition.get("ha-params")
    if mode is None:
        if any(key.startswith("ha-") for key in definition):
            return "ha-mode must be given with ha-params, ha-sync-mode, ha-sync-batch-size or ha-promote-on-*"
        return None
    if mode == "all" and "ha-params" in definition:  # ha-params: null too (the server reads the key as given)
        return 'ha-mode "all" does not take ha-params'
    if mode == "exactly" and (isinstance(params, bool) or not isinstance(params, int) or params < 1):
        return f'ha-mode "exactly" takes ha-params, a whole number >= 1; got {value_text(params)}'
    if mode == "nodes" and not (isinstance(params, list) and params and all(isinstance(n, str) for n in params)):
        return f'ha-mode "nodes" takes ha-params, a non-empty list of node names; got {value_text(params)}'
    return None


def _argument_shape_problem(name: Any, value: Any) -> str | None:
    """The checks every argument gets whatever it belongs to: names are text, known numbers are whole."""
    if not isinstance(name, str):
        return "argument names must be strings"
    if (ambiguous := ambiguous_number(value)) is not None:
        return ambiguous
    if name in INTEGER_ARGUMENTS and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        return f"must be a whole number >= 0, got {value_text(value)}"
    if name in BOOLEAN_ARGUMENTS and not isinstance(value, bool):
        return f"must be true or false, got {value_text(value)}"
    return None


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    names = ((bool, "a boolean"), (dict, "a mapping"), (list, "a list"), (str, "a string"), (int | float, "a number"))
    for kind, name in names:
        if isinstance(value, kind):
            return name
    return type(value).__name__
