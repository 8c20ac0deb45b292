"""An operator's command line against a real node: named targets, options after the command, `sandbox env`
for --backend ctl, the Debian wrapper named, closed pipes, JSON errors everywhere, completion, typos."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from rabbitadmin.backends.http.client import HttpClient
from rabbitadmin.backends.http.paths import api_path
from rabbitadmin.sandbox import Sandbox, SandboxInfo

from ..conftest import CliRunner, ctl_env

DEAD_URL = "http://127.0.0.1:1"  # nothing listens on port 1: a node of a cluster that is down


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any RABBITADMIN_* setting (the test gives each one it wants)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITADMIN_")}
    return {**env, **extra}


# The real command, with no RABBITADMIN_* setting inherited: each test gives the ones it wants.
run = CliRunner({}, clean_prefixes=("RABBITADMIN_",))
shell = run.shell


def targets_file(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return clean_env(RABBITADMIN_CONFIG=str(path))


# -- 1. named targets -------------------------------------------------------------------------------------
def test_a_named_target_reaches_the_node(node: SandboxInfo, tmp_path: Path) -> None:
    env = targets_file(
        tmp_path,
        f'[targets.box]\nurl = ["{DEAD_URL}", "{node.url}"]\nuser = "{node.user}"\n'
        f'password_file = "{node.password_file}"\n',
    )
    for args, extra in (
        (["--target", "box", "users", "list", "-o", "json"], {}),
        (["users", "list", "-o", "json"], {"RABBITADMIN_TARGET": "box"}),
        (["users", "list", "--target", "box", "-o", "json"], {}),
    ):
        result = run(*args, env={**env, **extra})
        assert result.returncode == 0, result.stderr
        assert node.user in [row["name"] for row in json.loads(result.stdout)]


def test_options_and_variables_override_the_target(node: SandboxInfo, tmp_path: Path) -> None:
    env = targets_file(
        tmp_path, f'[targets.box]\nurl = "{DEAD_URL}"\nuser = "{node.user}"\npassword_file = "{node.password_file}"\n'
    )
    down = run("--target", "box", "vhosts", "list", env=env)
    assert down.returncode == 3 and "127.0.0.1:1" in down.stderr
    assert run("--target", "box", "--url", node.url, "vhosts", "list", env=env).returncode == 0
    by_variable = run("--target", "box", "vhosts", "list", env={**env, "RABBITADMIN_URL": node.url})
    assert by_variable.returncode == 0 and "RABBITADMIN_URL overrides the url of target 'box'" in by_variable.stderr


def test_a_target_with_password_env(node: SandboxInfo, tmp_path: Path) -> None:
    env = targets_file(tmp_path, f'[targets.box]\nurl = "{node.url}"\nuser = "{node.user}"\npassword_env = "BOX_PW"\n')
    missing = run("--target", "box", "users", "list", "-o", "json", env=env)
    assert missing.returncode == 2 and json.loads(missing.stdout)["error"]["message"].endswith("BOX_PW is not set")
    password = node.password()
    ok = run("--target", "box", "users", "list", env={**env, "BOX_PW": password})
    assert ok.returncode == 0, ok.stderr
    shown = run("targets", "show", "box", env={**env, "BOX_PW": password})
    listed = run("targets", "list", "-o", "json", env={**env, "BOX_PW": password})
    assert "environment variable BOX_PW (set)" in shown.stdout
    assert json.loads(listed.stdout)["targets"][0]["password"] == "environment variable BOX_PW (set)"
    for result in (ok, shown, listed):
        assert password not in result.stdout + result.stderr


def test_a_ctl_target(sandbox: Sandbox, node: SandboxInfo, tmp_path: Path) -> None:
    ctl = sandbox.ctl_settings()
    prefix = f'ctl_prefix = "{ctl["prefix"]}"\n' if ctl["prefix"] else ""
    env = targets_file(
        tmp_path,
        f'[targets.box]\nbackend = "ctl"\nnode = "{ctl["node"]}"\nrabbitmqctl = "{ctl["rabbitmqctl"]}"\n'
        f'erlang_cookie_file = "{ctl["cookie_file"]}"\nctl_timeout = 120\n{prefix}',
    )
    result = run("--target", "box", "users", "list", "-o", "json", env=env)
    assert result.returncode == 0, result.stderr
    assert node.user in [row["name"] for row in json.loads(result.stdout)]


def test_an_invalid_targets_file_is_located_and_changes_nothing(node: SandboxInfo, tmp_path: Path) -> None:
    env = targets_file(tmp_path, f'[targets.box]\nurl = "{node.url}"\npassword = "hunter2"\nuserr = "x"\n')
    result = run("--target", "box", "vhosts", "add", "never-made", env=env)
    assert result.returncode == 2
    assert "targets.toml:3: targets.box.password: a literal password is not allowed" in result.stderr
    assert "targets.toml:4: targets.box.userr: unknown key 'userr' (did you mean 'user'?)" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    settings_env = {"RABBITADMIN_URL": node.url, "RABBITADMIN_USER": node.user}
    settings_env["RABBITADMIN_PASSWORD_FILE"] = str(node.password_file)
    check = run("vhosts", "list", "-o", "json", env=clean_env(**settings_env))
    assert "never-made" not in [row["name"] for row in json.loads(check.stdout)]


# -- 3. global options after the command --------------------------------------------------------------------
def test_global_options_after_the_command(sandbox: Sandbox, node: SandboxInfo, vhost: str, tmp_path: Path) -> None:
    env = clean_env()
    http = ["--url", node.url, "--user", node.user, "--password-file", str(node.password_file)]
    ctl = sandbox.ctl_settings()
    ctl_options = ["--backend", "ctl", "--node", str(ctl["node"]), "--rabbitmqctl", str(ctl["rabbitmqctl"])]
    ctl_options += ["--erlang-cookie-file", str(ctl["cookie_file"])]
    ctl_options += ["--ctl-prefix", str(ctl["prefix"])] if ctl["prefix"] else []
    topology = tmp_path / "t.yaml"
    topology.write_text(f'vhosts: [{{name: "{vhost}"}}]\n')
    for args in (
        ["users", "list", *http],
        ["vhosts", "list", "-o", "json", *http],
        ["queues", "list", "-p", "/", *ctl_options],
        ["plan", str(topology), *ctl_options],
        ["plan", str(topology), *http, "-o", "json"],
        ["export", *http, "--format", "json"],
    ):
        result = run(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
    planned = run("plan", str(topology), *ctl_options, "-o", "json", env=env)
    assert json.loads(planned.stdout)["changes"][0]["action"] == "create"
    # permissions list has its own --user (a filter): it stays the command's; the global -u moves
    who = ["-u", node.user, "--password-file", str(node.password_file), "--url", node.url]
    own = run("permissions", "list", "--user", node.user, "-o", "json", *who, env=env)
    assert own.returncode == 0, own.stderr
    assert {row["user"] for row in json.loads(own.stdout)} == {node.user}


# -- 2. sandbox env exports what --backend ctl needs; the Debian wrapper is named -----------------------------
def test_backend_ctl_after_sandbox_env(node: SandboxInfo) -> None:
    result = shell(
        f'eval "$(ra sandbox env --dir {shlex.quote(node.directory)})" && ra --backend ctl users list -o json',
        clean_env(),
    )
    assert result.returncode == 0, result.stderr
    assert node.user in [row["name"] for row in json.loads(result.stdout)]


def test_the_debian_wrapper_is_named(node: SandboxInfo) -> None:
    wrapper = Path("/usr/sbin/rabbitmqctl")
    assert wrapper.resolve().name == "rabbitmq-script-wrapper", "this machine's rabbitmqctl is not Debian's wrapper"
    env = {k: v for k, v in ctl_env(node).items() if k != "RABBITADMIN_CTL_PREFIX"}
    env |= {"RABBITADMIN_RABBITMQCTL": str(wrapper), "RABBITADMIN_CTL_TIMEOUT": "120"}
    result = run("--backend", "ctl", "users", "list", env=clean_env(**env))
    assert result.returncode != 0
    assert "is Debian's wrapper script" in result.stderr
    assert "--rabbitmqctl /usr/lib/rabbitmq/bin/rabbitmqctl" in result.stderr


# -- 7. a closed pipe ends quietly ----------------------------------------------------------------------------
def test_a_closed_pipe_ends_quietly(cli_env: dict[str, str], vhost: str, tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"  # a plan of ~200 KB: far more than a pipe's buffer
    queues = ", ".join(f'{{name: "queue-with-a-long-name-{i:05d}"}}' for i in range(4000))
    big.write_text(f'vhosts: [{{name: "{vhost}", queues: [{queues}]}}]\n')
    env = clean_env(**cli_env)
    commands = (f"ra plan {shlex.quote(str(big))}", "ra users list", "ra export", "ra export -o json", "ra --help")
    for command in commands:
        result = shell(f"{command} | head -1", env)
        assert result.returncode == 0, (command, result.stderr)
        assert len(result.stdout.splitlines()) == 1
        assert not any(word in result.stderr for word in ("Traceback", "BrokenPipe", "Exception"))


# -- 8. every failure under -o json prints {"error": ...} ------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["users", "list"],
        ["users", "authenticate", "x", "--password-env", "HOME"],
        ["vhosts", "list"],
        ["permissions", "list"],
        ["queues", "list"],
        ["exchanges", "list"],
        ["bindings", "list"],
        ["connections", "list"],
        ["channels", "list"],
        ["consumers", "list"],
        ["plan", "TOPOLOGY"],
        ["apply", "TOPOLOGY", "--yes"],
        ["export"],
        ["audit"],
        ["access"],
        ["route", "--vhost", "v", "--exchange", "e", "--routing-key", "k", "--live"],
        ["verify", "TOPOLOGY", "--live"],
        ["tutorial", "provision", "hello-world"],
        ["validate", "BAD"],
        ["targets", "show", "none"],
        ["sandbox", "start", "--dir", "SANDBOX", "--rabbitmq", "9.9"],
        ["users", "list", "--no-such-option"],
        ["queues", "list", "--backend", "htpp"],
    ],
    ids=" ".join,
)
def test_every_failure_under_json_prints_the_error(args: list[str], tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_text("vhosts: [{name: v, exchanges: [{name: e}]}]\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("vhosts: [{name: v, queues: [{name: q, type: qourum}]}]\n")
    files = {"TOPOLOGY": str(topology), "BAD": str(bad), "SANDBOX": str(tmp_path / "box")}
    args = [files.get(a, a) for a in args]
    env = clean_env(RABBITADMIN_URL=DEAD_URL, RABBITADMIN_PASSWORD="x", RABBITADMIN_CONFIG=str(tmp_path / "no.toml"))
    result = run(*args, "-o", "json", env=env)
    assert result.returncode not in (0, None)
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == result.returncode and error["message"]


# -- 9. shell completion --------------------------------------------------------------------------------------
def test_completion_is_installed_and_completes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(HOME=str(home), SHELL="/bin/bash")
    shown = run("--show-completion", "bash", env=env)
    assert shown.returncode == 0 and "_RABBITADMIN_COMPLETE" in shown.stdout and "complete " in shown.stdout
    installed = run("--install-completion", "bash", env=env)
    assert installed.returncode == 0, installed.stderr
    script = home / ".bash_completions" / "rabbitadmin.sh"
    assert script.read_text().strip() == shown.stdout.strip()
    assert str(script) in (home / ".bashrc").read_text()
    for words, cword, expected in (("rabbitadmin us", "1", "users"), ("rabbitadmin users l", "2", "list")):
        env_complete = {**env, "_RABBITADMIN_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        completed = run(env=env_complete)
        assert expected in completed.stdout.split(), completed.stdout
    sourced = shell(f"source {shlex.quote(str(script))} && complete -p rabbitadmin", env)
    assert sourced.returncode == 0 and "_rabbitadmin_completion" in sourced.stdout


# -- 10. did you mean; an unknown vhost ------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["http", "ctl"])
def test_an_unknown_vhost_is_named(node: SandboxInfo, admin_client: HttpClient, vhost: str, backend: str) -> None:
    admin_client.put(api_path("vhosts", vhost), {})
    env = clean_env(
        RABBITADMIN_URL=node.url,
        RABBITADMIN_USER=node.user,
        RABBITADMIN_PASSWORD_FILE=str(node.password_file),
        RABBITADMIN_BACKEND=backend,
        **ctl_env(node),
    )
    typo = vhost[:-1] + "x"
    for args in (
        ["queues", "list", "-p", typo],
        ["exchanges", "list", "-p", typo],
        ["permissions", "set", node.user, ".*", ".*", ".*", "-p", typo],
        ["queues", "purge", "q", "-p", typo, "--yes"],
    ):
        result = run(*args, "-o", "json", env=env) if args[1] == "list" else run(*args, env=env)
        assert result.returncode == 1, (args, result.stderr)
        assert f"there is no vhost {typo!r} (did you mean {vhost!r}?)" in result.stderr
        assert "404" not in result.stderr
    assert run("queues", "list", "-p", vhost, env=env).returncode == 0  # an empty vhost is no error


def test_value_typos_suggest(node: SandboxInfo, tmp_path: Path) -> None:
    env = clean_env(
        RABBITADMIN_URL=node.url, RABBITADMIN_USER=node.user, RABBITADMIN_PASSWORD_FILE=str(node.password_file)
    )
    typo = tmp_path / "t.yaml"
    typo.write_text("vhosts: [{name: v, queues: [{name: q, type: qourum}], exchanges: [{name: e, type: fanuot}]}]\n")
    validated = run("validate", str(typo), env=env)
    assert validated.returncode == 2
    assert "got 'qourum' (did you mean 'quorum'?)" in validated.stderr
    assert "unknown exchange type 'fanuot' (did you mean 'fanout'?)" in validated.stderr
    added = run("vhosts", "add", "never-made", "--default-queue-type", "qourum", env=env)
    assert added.returncode == 2 and "(did you mean 'quorum'?)" in added.stderr
    assert "did you mean 'json'" in run("users", "list", "-o", "jsno", env=env).stderr
    assert "did you mean 'http'" in run("--backend", "htp", "users", "list", env=env).stderr
    assert "did you mean 'json'" in run("export", "--format", "jsn", env=env).stderr
