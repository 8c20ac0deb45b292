"""Which command lines get an early read, told apart without loading the command-line framework.

Only a single-target ``plan`` over HTTP does; ``apply`` never does (it reads after taking its locks, so that
what it reads cannot change under it). The options are those of ``cli.main_callback`` and ``cli.plan``
(``tests/unit/test_early_read.py`` checks that these tables match them); the values are taken the way
click takes them: ``--name value``, ``--name=value``, ``-uvalue``, an environment variable (when set and
not empty) for an option not given. Anything this parser does not know, or a command line it cannot read
for certain, gives ``None``: the plan then reads as it always does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: The root options that take a value: option -> (parameter name, environment variable or None).
ROOT_VALUE_OPTIONS: dict[str, tuple[str, str | None]] = {
    "--url": ("url", "RABBITADMIN_URL"),
    "--user": ("user", "RABBITADMIN_USER"),
    "-u": ("user", "RABBITADMIN_USER"),
    "--password": ("password", None),
    "--password-file": ("password_file", "RABBITADMIN_PASSWORD_FILE"),
    "--ca-bundle": ("ca_bundle", "RABBITADMIN_CA_BUNDLE"),
    "--client-cert": ("client_cert", "RABBITADMIN_CLIENT_CERT"),
    "--client-key": ("client_key", "RABBITADMIN_CLIENT_KEY"),
    "--timeout": ("timeout", None),
    "--backend": ("backend", "RABBITADMIN_BACKEND"),
    "--node": ("node", "RABBITADMIN_NODE"),
    "--rabbitmqctl": ("rabbitmqctl", "RABBITADMIN_RABBITMQCTL"),
    "--ctl-prefix": ("ctl_prefix", "RABBITADMIN_CTL_PREFIX"),
    "--erlang-cookie-file": ("erlang_cookie_file", "RABBITADMIN_ERLANG_COOKIE_FILE"),
    "--ctl-timeout": ("ctl_timeout", "RABBITADMIN_CTL_TIMEOUT"),
    "--target": ("target", "RABBITADMIN_TARGET"),
    "--var": ("var", None),
}
#: The root options given more than once (a list).
ROOT_MULTIPLE = frozenset({"url", "target", "var"})
#: The root flags (no value). ``--version`` and the completion flags are left out: they run no plan.
ROOT_FLAGS: dict[str, str] = {"--insecure": "insecure"}
#: ``plan``'s own options: those that take a value (option -> parameter name), and its flags.
PLAN_VALUE_OPTIONS: dict[str, str] = {"--parallel-targets": "parallel_targets", "--output": "output", "-o": "output"}
PRUNE_FLAG = "--prune"
PLAN_FLAGS = frozenset({PRUNE_FLAG, "--detailed-exitcode", "--summary", "--no-pager"})
#: The values click checks, as the options declare them: a command line click would refuse is not read here.
OUTPUT_CHOICES = ("text", "json")
PARALLEL_TARGETS_RANGE = (1, 32)
TIMEOUT_MIN = 0.001
FLOAT_PARAMETERS = frozenset({"timeout", "ctl_timeout"})
COMMAND = "plan"


@dataclass(frozen=True)
class PlanCommandLine:
    """A ``plan`` command line: its file and the root options given (on the command line or through their
    variables), by parameter name: a string, a list of strings (``ROOT_MULTIPLE``) or ``True`` (flags);
    ``prune``: whether it says ``--prune`` (the plan counts the messages of what it deletes)."""

    file: str
    options: dict[str, str | list[str] | bool] = field(default_factory=dict)
    prune: bool = False


def _split(word: str, names: Sequence[str], attached_short: bool) -> tuple[str, str | None] | None:
    """``(option, attached value)`` when ``word`` is one of ``names``, given as ``--name``, ``--name=value`` or
    (a one-letter option, when ``attached_short``) ``-xvalue``; None otherwise."""
    if word in names:
        return word, None
    if word.startswith("--") and "=" in word:
        name, value = word.split("=", 1)
        return (name, value) if name in names else None
    if attached_short and len(word) > 2 and not word.startswith("--") and word[:2] in names:
        return word[:2], word[2:]
    return None


def plan_command_line(argv: Sequence[str], environ: Mapping[str, str]) -> PlanCommandLine | None:
    """The ``plan`` command line in ``argv`` (the arguments after the program's name), or None: another
    command, an option this module does not know (``--help`` among them), a second file, ``--``."""
    options: dict[str, str | list[str] | bool] = {}
    command_seen = False
    root_after_command = True  # whether root options after the command are moved in front of it
    file: str | None = None
    prune = False
    value_options = [*ROOT_VALUE_OPTIONS, *PLAN_VALUE_OPTIONS]
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word in ROOT_FLAGS:
            if command_seen and not root_after_command:
                return None
            options[ROOT_FLAGS[word]] = True
            continue
        if command_seen and word in PLAN_FLAGS:
            prune = prune or word == PRUNE_FLAG
            continue
        if word.startswith("-") and word != "-":
            # After the command, ``-uvalue`` is not moved in front of it (``cli_entry.hoist_global_options``)
            # and click refuses it there; ``-u value`` and ``--user=value`` are moved.
            found = _split(word, value_options, attached_short=not command_seen or word[:2] in PLAN_VALUE_OPTIONS)
            if found is None or (found[0] in PLAN_VALUE_OPTIONS and not command_seen):
                return None  # unknown here (--help, --version, a typo): the command line is typer's to read
            name, value = found
            if name in ROOT_VALUE_OPTIONS and not name.startswith("--") and value is not None and not command_seen:
                root_after_command = False  # the mover stops at -uvalue: what follows the command stays there
            elif name in ROOT_VALUE_OPTIONS and command_seen and not root_after_command:
                return None  # click refuses it there
            if value is None:
                if index >= len(argv):
                    return None
                value = argv[index]
                index += 1
            if name in PLAN_VALUE_OPTIONS:
                if not _valid(PLAN_VALUE_OPTIONS[name], value):
                    return None
            elif name in ROOT_VALUE_OPTIONS:
                parameter = ROOT_VALUE_OPTIONS[name][0]
                if parameter in ROOT_MULTIPLE:
                    listed = options.setdefault(parameter, [])
                    assert isinstance(listed, list)
                    listed.append(value)
                else:
                    options[parameter] = value
            continue
        if not command_seen:
            if word != COMMAND:
                return None
            command_seen = True
        elif file is None:
            file = word
        else:
            return None  # a second file: a usage error, typer's to report
    if file is None:
        return None
    for parameter, variable in {p: v for p, v in ROOT_VALUE_OPTIONS.values()}.items():
        # RABBITADMIN_URL is left to ``connection.resolve_settings``, which reads it with RABBITADMIN_URLS
        # exactly as the main callback does (``cluster_urls``).
        if parameter in options or variable is None or parameter == "url":
            continue
        if environ.get(variable):
            value = environ[variable]
            options[parameter] = value.split() if parameter in ROOT_MULTIPLE else value
    if not all(_valid(name, value) for name, value in options.items() if isinstance(value, str)):
        return None
    return PlanCommandLine(file, options, prune)


def _valid(parameter: str, value: str) -> bool:
    """Whether click takes ``value`` for ``parameter`` (its type's conversion and range); the timeout is
    held to a number of at least ``TIMEOUT_MIN`` (not NaN either)."""
    try:
        if parameter == "output":
            return value in OUTPUT_CHOICES
        if parameter == "parallel_targets":
            return PARALLEL_TARGETS_RANGE[0] <= int(value) <= PARALLEL_TARGETS_RANGE[1]
        if parameter == "timeout":
            return float(value) >= TIMEOUT_MIN
        if parameter in FLOAT_PARAMETERS:
            float(value)
    except ValueError:
        return False
    return True
