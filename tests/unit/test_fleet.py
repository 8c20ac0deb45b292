"""Fleets without a server: groups in the targets file, ${name} variables, the worst-exit rule."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rabbitadmin import fleet
from rabbitadmin.errors import ExitCode, TargetsError, TopologyError, UsageError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.targets import CONFIG_ENV, load_targets
from rabbitadmin.targets_cli import state_for, with_target
from rabbitadmin.variables import check_name, expand, parse_assignments

from .test_targets import NO_OPTIONS, write

FILE = """\
[targets.dev]
url = "http://dev.example:15672"
password_env = "DEV_PW"
vars = { env = "dev", max = 1000, lazy = true }

[targets.prod]
url = "http://prod.example:15672"
password_env = "PROD_PW"

[targets.prod.vars]
env = "prod"
max = 100000

[targets.box]
url = "http://box.example:15672"

[groups.all]
targets = ["dev", "prod"]
description = "every environment"

[groups.solo]
targets = ["box"]
"""


# -- groups and vars in the targets file --------------------------------------------------------------------
def test_groups_and_vars_load(tmp_path: Path) -> None:
    loaded = load_targets(write(tmp_path, FILE))
    assert loaded.groups["all"].targets == ("dev", "prod")
    assert loaded.groups["all"].description == "every environment"
    assert dict(loaded.get("dev").vars) == {"env": "dev", "max": "1000", "lazy": "true"}
    assert dict(loaded.get("prod").vars) == {"env": "prod", "max": "100000"}
    assert dict(loaded.get("box").vars) == {}


@pytest.mark.parametrize(
    ("names", "expected", "is_fleet"),
    [
        (["dev"], ["dev"], False),
        (["dev", "prod"], ["dev", "prod"], True),
        (["all"], ["dev", "prod"], True),
        (["solo"], ["box"], True),  # a group of one still reports per target
        (["all", "dev", "box"], ["dev", "prod", "box"], True),  # a target named twice runs once
        (["prod", "prod"], ["prod"], False),
    ],
)
def test_names_resolve_to_targets(tmp_path: Path, names: list[str], expected: list[str], is_fleet: bool) -> None:
    loaded = load_targets(write(tmp_path, FILE))
    assert [t.name for t in loaded.resolve(names)] == expected
    assert loaded.is_fleet(names) is is_fleet


def test_an_unknown_name_suggests_groups_too(tmp_path: Path) -> None:
    loaded = load_targets(write(tmp_path, FILE))
    with pytest.raises(UsageError, match=r"no target 'al' .*did you mean 'all'.*groups: all, solo"):
        loaded.resolve(["al"])


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ('[groups.g]\ntargets = ["dev", "nope"]\n', 6, "groups.g.targets", "no target 'nope'"),
        ('[groups.g]\ntargets = ["dve"]\n', 6, "groups.g.targets", "did you mean 'dev'"),
        ("[groups.g]\ntargets = []\n", 6, "groups.g.targets", "non-empty list"),
        ('[groups.g]\ntargets = "dev"\n', 6, "groups.g.targets", "non-empty list"),
        ('[groups.g]\ntargets = ["dev"]\ntarget = 1\n', 7, "groups.g.target", "unknown key 'target'"),
        ('[groups.dev]\ntargets = ["dev"]\n', 5, "groups.dev", "names a target too"),
        ('[groups.g]\ntargets = ["h"]\n[groups.h]\ntargets = ["dev"]\n', 6, "groups.g.targets", "is a group"),
        ('[groups.g]\ntargets = ["dev"]\ndescription = 3\n', 7, "groups.g.description", "expected a string"),
        ('[targets.x]\nvars = { "bad name" = "1" }\n', 6, "targets.x.vars.bad name", "not a variable name"),
        ('[targets.x]\nvars = { db_password = "p" }\n', 6, "targets.x.vars.db_password", "looks like a secret"),
        ("[targets.x]\nvars = { list = [1] }\n", 6, "targets.x.vars.list", "a string, a number or a boolean"),
        ('[targets.x.vars]\nenv = "x"\nTOKEN = "t"\n', 7, "targets.x.vars.TOKEN", "looks like a secret"),
        ('[targets.x]\nvars = "env=x"\n', 6, "targets.x.vars", "expected"),
    ],
)
def test_bad_groups_and_vars_are_located(tmp_path: Path, text: str, line: int, field: str, words: str) -> None:
    head = '[targets.dev]\nurl = "http://dev:15672"\n\n\n'  # four lines, so each case starts on line 5
    with pytest.raises(TargetsError) as caught:
        load_targets(write(tmp_path, head + text))
    problems = [p for p in caught.value.problems if p.field == field]
    assert problems, caught.value.problems
    assert problems[0].line == line and words in problems[0].message


def test_groups_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(TargetsError) as caught:
        load_targets(write(tmp_path, 'groups = 3\n[targets.dev]\nurl = "http://dev:15672"\n'))
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (1, "groups") and "table of groups" in problem.message


def test_targets_show_never_shows_a_password_but_shows_vars(tmp_path: Path) -> None:
    shown = load_targets(write(tmp_path, FILE)).get("dev").shown()
    assert shown["vars"] == {"env": "dev", "max": "1000", "lazy": "true"}
    assert shown["password"].startswith("environment variable DEV_PW")


# -- the command line's state for several targets -----------------------------------------------------------
@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write(tmp_path, FILE)
    monkeypatch.setenv(CONFIG_ENV, str(path))
    for name in ("RABBITADMIN_PASSWORD", "RABBITADMIN_AMQP_PORT"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_a_group_gives_one_state_per_target_with_its_vars(config: Path) -> None:
    state = state_for(with_target({**NO_OPTIONS, "target": ["all"], "var": ["max=5"]}))
    assert state.fleet is not None
    names = [target.name for target, _ in state.fleet]
    assert names == ["dev", "prod"]
    dev, prod = (member for _, member in state.fleet)
    assert dev.settings_factory is not prod.settings_factory
    assert dev.variables == {"env": "dev", "max": "5", "lazy": "true"}  # --var wins over the target's vars
    assert prod.variables == {"env": "prod", "max": "5"}


def test_one_target_keeps_the_single_path_with_vars(config: Path) -> None:
    state = state_for(with_target({**NO_OPTIONS, "target": ["dev"], "var": ["extra=1"]}))
    assert state.fleet is None and state.variables == {"env": "dev", "max": "1000", "lazy": "true", "extra": "1"}


def test_var_without_target(config: Path) -> None:
    assert state_for(with_target({**NO_OPTIONS, "var": ["a=1", "a=2", "b=x=y"]})).variables == {"a": "2", "b": "x=y"}


@pytest.mark.parametrize(
    ("option", "value", "shown"),
    [
        ("url", "http://x:15672", "--url / RABBITADMIN_URL"),
        ("password_file", "/x", "--password-file"),
        ("password", "pw", "--password"),
    ],
)
def test_a_server_option_is_refused_with_several_targets(config: Path, option: str, value: str, shown: str) -> None:
    with pytest.raises(UsageError, match="would apply to all of them") as caught:
        with_target({**NO_OPTIONS, "target": ["dev", "prod"], option: value})
    assert shown in str(caught.value) and value not in str(caught.value).replace(shown, "")


@pytest.mark.parametrize(("option", "value"), [("node", "rabbit@x"), ("erlang_cookie_file", "/c")])
def test_ctl_settings_are_refused_only_when_a_target_uses_ctl(config: Path, option: str, value: str) -> None:
    over_http = with_target({**NO_OPTIONS, "target": ["dev", "prod"], option: value})  # unused over HTTP
    assert len(over_http["fleet"]) == 2
    with pytest.raises(UsageError, match="would apply to all of them"):
        with_target({**NO_OPTIONS, "target": ["dev", "prod"], option: value, "backend": "ctl"})


@pytest.mark.parametrize("variable", ["RABBITADMIN_PASSWORD", "RABBITADMIN_AMQP_PORT"])
def test_a_server_variable_is_refused_with_several_targets(
    config: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "5672")
    with pytest.raises(UsageError, match=variable):
        with_target({**NO_OPTIONS, "target": ["all"]})


def test_shared_options_apply_to_every_target(config: Path) -> None:
    values = with_target({**NO_OPTIONS, "target": ["all"], "user": "ops", "timeout": 5.0})
    assert [member["user"] for member in values["fleet"]] == ["ops", "ops"]
    # A target's url is the list of its nodes (a cluster's URLs; one here).
    assert [member["url"] for member in values["fleet"]] == [["http://dev.example:15672"], ["http://prod.example:15672"]]


@pytest.mark.parametrize(
    ("command", "allowed"),
    [("plan", True), ("apply", True), ("audit", True), ("validate", True), ("targets", True),
     ("users", False), ("export", False), ("queues", False), ("overview", False)],
)  # fmt: skip
def test_only_fleet_commands_take_several_targets(config: Path, command: str, allowed: bool) -> None:
    state = state_for(with_target({**NO_OPTIONS, "target": ["dev", "prod"]}))
    if allowed:
        fleet.check_command(state, command)
    else:
        with pytest.raises(UsageError, match=f"give `{command}` one --target"):
            fleet.check_command(state, command)


# -- variables ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("app-${env}", {"env": "dev"}, "app-dev"),
        ("${a}${b}", {"a": "1", "b": "2"}, "12"),
        ("$${env}", {}, "${env}"),
        ("cost $5 and $${x} and ${x}", {"x": "y"}, "cost $5 and ${x} and y"),
        ("no reference", {}, "no reference"),
        ("${a.b-c_d}", {"a.b-c_d": "ok"}, "ok"),
    ],
)
def test_expand(text: str, variables: dict[str, str], expected: str) -> None:
    assert expand(text, variables) == (expected, [])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("${missing}", "variable ${missing} is not defined"),
        ("${1x}", "not a variable reference"),
        ("${}", "not a variable reference"),
        ("${open", "without a closing"),
        ("${envv}", "did you mean 'env'"),
    ],
)
def test_expand_problems(text: str, words: str) -> None:
    _, problems = expand(text, {"env": "dev"})
    assert problems and words in problems[0]


@pytest.mark.parametrize(
    ("name", "ok"),
    [("env", True), ("_x", True), ("a.b", True), ("max-length", True), ("1a", False), ("a b", False),
     ("", False), ("admin_password", False), ("API_TOKEN", False), ("secret", False), ("cookie", False)],
)  # fmt: skip
def test_variable_names(name: str, ok: bool) -> None:
    assert (check_name(name) is None) is ok


@pytest.mark.parametrize("bad", ["novalue", "=x", "1a=x", "password=x"])
def test_bad_var_options(bad: str) -> None:
    with pytest.raises(UsageError, match="--var"):
        parse_assignments([bad])


TOPOLOGY = """\
vhosts:
  - name: app-${env}
    queues:
      - name: orders-${env}
        arguments:
          x-max-length: ${max}
      - name: "quoted-${max}"
        durable: ${durable}
    exchanges:
      - name: literal-$${env}
        type: ${type}
"""
VARS = {"env": "dev", "max": "1000", "durable": "false", "type": "topic"}


def test_substitution_before_validation_types_plain_scalars() -> None:
    topology = load_topology_text(TOPOLOGY, "t.yaml", variables=VARS)
    queues = {q.name: q for q in topology.objects["queue"].values()}  # type: ignore[attr-defined]
    assert set(queues) == {"orders-dev", "quoted-1000"}
    assert queues["orders-dev"].arguments == {"x-max-length": 1000}  # an integer, as if written there
    assert queues["quoted-1000"].durable is False
    exchanges = [e for e in topology.objects["exchange"].values()]  # type: ignore[attr-defined]
    assert [(e.name, e.type) for e in exchanges] == [("literal-${env}", "topic")]
    assert topology.vhosts_in_scope() == {"app-dev"}


def test_every_undefined_variable_is_located() -> None:
    with pytest.raises(TopologyError) as caught:
        load_topology_text(TOPOLOGY, "t.yaml", variables={"env": "dev"})
    located = {(p.line, p.field) for p in caught.value.problems}
    assert located == {
        (6, "vhosts[0].queues[0].arguments.x-max-length"),
        (7, "vhosts[0].queues[1].name"),
        (8, "vhosts[0].queues[1].durable"),
        (11, "vhosts[0].exchanges[0].type"),
    }
    assert all(p.file == "t.yaml" for p in caught.value.problems)


def test_validation_applies_to_substituted_values() -> None:
    with pytest.raises(TopologyError) as caught:
        load_topology_text(TOPOLOGY, "t.yaml", variables={**VARS, "max": "-5", "type": "topik"})
    messages = "\n".join(str(p) for p in caught.value.problems)
    assert "x-max-length" in messages and ":11:" in messages and "topik" in messages


def test_a_variable_never_gives_a_password() -> None:
    text = "users:\n  - name: app-${env}\n    password: ${pw}\n"
    with pytest.raises(TopologyError) as caught:
        load_topology_text(text, "t.yaml", variables={"env": "dev", "pw": "hunter2"})
    (problem,) = caught.value.problems
    assert problem.line == 3 and problem.field == "users[0].password" and "cannot give a password" in problem.message
    assert "hunter2" not in str(caught.value)


def test_a_variable_may_name_the_password_source() -> None:
    text = "users:\n  - name: app\n    password:\n      env: PW_${env}\n"
    topology = load_topology_text(text, "t.yaml", variables={"env": "dev"}, environ={"PW_dev": "s3cret-enough"})
    (user,) = topology.objects["user"].values()  # type: ignore[attr-defined]
    assert user.password.reveal() == "s3cret-enough"


def test_aliases_are_substituted_once() -> None:
    text = (
        "vhosts:\n  - name: a-${env}\n    queues:\n      - &q\n        name: q-${env}\n"
        "  - name: b\n    queues:\n      - *q\n"
    )
    topology = load_topology_text(text, "t.yaml", variables={"env": "x"})
    assert sorted(q.name for q in topology.objects["queue"].values()) == ["q-x", "q-x"]  # type: ignore[attr-defined]


def test_definitions_are_taken_literally() -> None:
    text = '{"rabbit_version": "3.10.8", "vhosts": [{"name": "v-${x}"}]}'
    topology = load_topology_text(text, "defs.json")
    assert topology.vhosts_in_scope() == {"v-${x}"}


def test_a_file_without_references_is_unchanged_by_variables() -> None:
    text = "vhosts:\n  - name: plain\n    queues:\n      - name: cost$5\n"
    assert load_topology_text(text, "t.yaml", variables=VARS).objects == load_topology_text(text, "t.yaml").objects


# -- the worst exit code -----------------------------------------------------------------------------------
E = ExitCode


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], E.OK),
        ([E.OK, E.OK], E.OK),
        ([E.OK, E.CHANGES_PENDING], E.CHANGES_PENDING),
        ([E.CHANGES_PENDING, E.FINDINGS], E.FINDINGS),
        ([E.CHANGES_PENDING, E.CONNECTION], E.CONNECTION),  # an error beats changes present
        ([E.FINDINGS, E.INVALID], E.INVALID),
        ([E.INVALID, E.REFUSED], E.REFUSED),
        ([E.REFUSED, E.LOCKED], E.LOCKED),
        ([E.LOCKED, E.TIMEOUT], E.TIMEOUT),
        ([E.TIMEOUT, E.CONNECTION], E.CONNECTION),
        ([E.CONNECTION, E.ERROR], E.ERROR),
        ([E.ERROR, E.MESSAGES_ARRIVED], E.MESSAGES_ARRIVED),
        ([E.MESSAGES_ARRIVED, E.PARTIAL], E.PARTIAL),
        ([E.PARTIAL, E.INTERRUPTED], E.INTERRUPTED),
        ([None, E.OK], E.OK),  # a target that did not run counts for nothing
        ([None], E.OK),
        ([E.OK, 77], E.ERROR),  # a code outside ExitCode counts as ERROR
        ([77, E.PARTIAL], E.PARTIAL),
        ([E.CHANGES_PENDING, 6, 0], E.CHANGES_PENDING),
    ],
)
def test_worst(codes: list[int | None], expected: ExitCode) -> None:
    assert fleet.worst(codes) is expected
    assert fleet.worst(reversed(codes)) is expected  # the order of the targets does not matter


def test_severity_ranks_every_exit_code_once() -> None:
    assert sorted(fleet.SEVERITY) == sorted(ExitCode)
    assert fleet.SEVERITY[0] is E.OK and fleet.SEVERITY[-1] is E.INTERRUPTED
    # every failure outranks every "something to look at", which outranks clean
    failures = [c for c in ExitCode if c not in (E.OK, E.CHANGES_PENDING, E.FINDINGS)]
    assert min(fleet.rank(c) for c in failures) > max(fleet.rank(c) for c in (E.CHANGES_PENDING, E.FINDINGS))


# -- running targets: one failing never hides the others; a bound; a stop -----------------------------------
def outcomes(count: int) -> list[fleet.Outcome]:
    state = state_for(with_target(NO_OPTIONS))
    return [fleet.Outcome(f"t{i}", state, "somewhere") for i in range(count)]


def test_one_target_raising_is_only_that_targets_outcome() -> None:
    from rabbitadmin.errors import ApplyLocked

    def work(outcome: fleet.Outcome) -> None:
        if outcome.name == "t1":
            raise ApplyLocked("vhost 'x' is locked by pid 1")
        if outcome.name == "t2":
            raise KeyError("a bug")
        outcome.status = "fine"

    ran = outcomes(4)
    fleet.run_each(ran, work, limit=2, stop=threading.Event())
    assert [(o.status, o.exit_code) for o in ran] == [
        ("fine", E.OK),
        ("failed: vhost 'x' is locked by pid 1", E.LOCKED),
        ("failed: unexpected KeyError: 'a bug'", E.ERROR),
        ("fine", E.OK),
    ]
    assert fleet.worst(o.exit_code for o in ran) is E.ERROR


def test_at_most_limit_targets_run_at_once() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def work(_outcome: fleet.Outcome) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    fleet.run_each(outcomes(7), work, limit=3, stop=threading.Event())
    assert 1 <= peak[0] <= 3


def test_no_target_starts_after_a_stop() -> None:
    stop = threading.Event()
    started: list[str] = []

    def work(outcome: fleet.Outcome) -> None:
        started.append(outcome.name)
        stop.set()  # as Ctrl-C would, while the first target runs

    ran = outcomes(3)
    fleet.run_each(ran, work, limit=1, stop=stop)
    assert started == ["t0"]
    assert [o.exit_code for o in ran] == [E.OK, E.INTERRUPTED, E.INTERRUPTED]
    assert all("before this target started" in o.status for o in ran[1:])


def test_an_interrupt_after_every_target_started_still_exits_130() -> None:
    stop = threading.Event()
    stop.set()
    assert fleet._exit(outcomes(2), stop) == 130
    assert fleet._exit(outcomes(2), threading.Event()) == 0
