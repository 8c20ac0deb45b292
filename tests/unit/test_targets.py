"""The targets file: parsing, validation with file and line, precedence over options, no secret shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from rabbitadmin.errors import UsageError
from rabbitadmin.suggest import did_you_mean, unknown_value
from rabbitadmin.targets import CONFIG_ENV, TargetsError, config_path, load_targets
from rabbitadmin.targets_cli import settings_for, with_target

GOOD = """\
[targets.prod]
url = ["https://mq1.example:15671", "https://mq2.example:15671"]
user = "admin"
password_env = "PROD_PW"
ca_bundle = "certs/ca.pem"
timeout = 5
parallel = 8

[targets.box]
url = "http://127.0.0.1:15672"
password_file = "~/box.password"
backend = "ctl"
node = "rabbit@box"
rabbitmqctl = "/usr/lib/rabbitmq/bin/rabbitmqctl"
ctl_prefix = ["ssh", "admin@box"]
erlang_cookie_file = "/secrets/cookie"
ctl_timeout = 30
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads_with_paths_resolved(tmp_path: Path) -> None:
    loaded = load_targets(write(tmp_path, GOOD))
    prod, box = loaded.get("prod"), loaded.get("box")
    assert prod.urls == ("https://mq1.example:15671", "https://mq2.example:15671")
    assert prod.ca_bundle == str(tmp_path / "certs" / "ca.pem")  # relative to the file's directory
    assert box.password_file == str(Path("~/box.password").expanduser())
    assert box.ctl_prefix == ("ssh", "admin@box") and box.backend == "ctl" and box.ctl_timeout == 30
    assert list(loaded.targets) == ["prod", "box"]


def test_a_missing_file_holds_no_targets(tmp_path: Path) -> None:
    loaded = load_targets(tmp_path / "none.toml")
    assert loaded.targets == {} and not loaded.exists
    with pytest.raises(UsageError, match="no such file"):
        loaded.get("prod")


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ('[targets.a]\nurl = "http://h"\npassword = "hunter2"\n', 3, "targets.a.password", "password_env"),
        ('[targets.a]\npasword_env = "X"\n', 2, "targets.a.pasword_env", "did you mean 'password_env'"),
        ('[targets.a]\nbackend = "htp"\n', 2, "targets.a.backend", "did you mean 'http'"),
        ('[targets.a]\ntimeout = "5"\n', 2, "targets.a.timeout", "an integer or a number"),
        ("[targets.a]\ntimeout = -1\n", 2, "targets.a.timeout", "positive"),
        ("[targets.a]\nparallel = 100\n", 2, "targets.a.parallel", "at most 64"),
        ('[targets.a]\nurl = "ftp://h"\n', 2, "targets.a.url", "not an http(s) URL"),
        ('[targets.a]\nurl = "http://u:pw@h"\n', 2, "targets.a.url", "must not carry a password"),
        ("[targets.a]\nurl = []\n", 2, "targets.a.url", "non-empty list"),
        ('[targets.a]\ninsecure = "yes"\n', 2, "targets.a.insecure", "true or false"),
        ('\n\n[targets.a]\npassword_env = "A"\npassword_file = "f"\n', 3, "targets.a", "not both"),
        ("target = 1\n", 1, "target", "did you mean 'targets'"),
        ('[targets.a]\n[targets.b]\nerlang_cookie = "SECRET"\n', 3, "targets.b.erlang_cookie", "not allowed"),
    ],
)
def test_each_problem_is_located(tmp_path: Path, text: str, line: int, field: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TargetsError) as caught:
        load_targets(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), line, field)
    assert words in problem.message
    assert "hunter2" not in str(caught.value) and "SECRET" not in str(caught.value)


def test_every_problem_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "[targets.a]\nuser = 1\n[targets.b]\nnode = 2\nbogus = 3\n")
    with pytest.raises(TargetsError) as caught:
        load_targets(path)
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (2, "targets.a.user"),
        (4, "targets.b.node"),
        (5, "targets.b.bogus"),
    ]
    assert str(caught.value).startswith("3 problems in the targets file")


def test_toml_syntax_error_has_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[targets.a]\nurl = "http://h"\nuser =\n')
    with pytest.raises(TargetsError) as caught:
        load_targets(path)
    assert caught.value.problems[0].line == 3 and "not valid TOML" in caught.value.problems[0].message


def test_config_path_override_and_default(tmp_path: Path) -> None:
    assert config_path({CONFIG_ENV: str(tmp_path / "x.toml")}) == tmp_path / "x.toml"
    default = config_path({})
    assert default.name == "targets.toml" and default.parent.name == "rabbitadmin"


def test_unknown_target_suggests(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no target 'prd'.*did you mean 'prod'"):
        load_targets(write(tmp_path, GOOD)).get("prd")


NO_OPTIONS = {
    "url": None,
    "user": None,
    "password": None,
    "password_file": None,
    "ca_bundle": None,
    "client_cert": None,
    "client_key": None,
    "insecure": False,
    "timeout": None,
    "backend": None,
    "node": None,
    "rabbitmqctl": None,
    "ctl_prefix": None,
    "erlang_cookie_file": None,
    "ctl_timeout": None,
    "target": None,
}


@pytest.fixture
def targets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write(tmp_path, GOOD)
    monkeypatch.setenv(CONFIG_ENV, str(path))
    for name in ("RABBITADMIN_PASSWORD", "RABBITADMIN_AMQP_PORT", "PROD_PW"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_the_target_fills_what_options_leave_out(targets_file: Path) -> None:
    values = with_target({**NO_OPTIONS, "target": "box"})
    assert (values["backend"], values["node"], values["ctl_prefix"]) == ("ctl", "rabbit@box", ("ssh", "admin@box"))
    assert values["url"] == ["http://127.0.0.1:15672"] and values["ctl_timeout"] == 30


def test_options_override_the_target(targets_file: Path) -> None:
    values = with_target({**NO_OPTIONS, "target": "box", "backend": "http", "node": "rabbit@other", "url": "http://x"})
    assert (values["backend"], values["node"], values["url"]) == ("http", "rabbit@other", "http://x")
    assert values["erlang_cookie_file"] == "/secrets/cookie"  # not given: still the target's


def test_no_target_keeps_the_defaults(targets_file: Path) -> None:
    values = with_target(NO_OPTIONS)
    assert values["backend"] == "http" and values["target"] is None and values["parallel"] is None


def test_an_unknown_backend_option_suggests(targets_file: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown backend 'clt' \(did you mean 'ctl'\?\)"):
        with_target({**NO_OPTIONS, "backend": "clt"})


def test_password_precedence(
    targets_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = with_target({**NO_OPTIONS, "target": "prod"})
    with pytest.raises(UsageError, match="PROD_PW is not set"):
        settings_for(prod)
    monkeypatch.setenv("PROD_PW", "from-target")
    settings = settings_for(prod)
    assert settings.password is not None and settings.password.reveal() == "from-target"
    assert settings.user == "admin" and settings.timeout == 5
    # RABBITADMIN_PASSWORD (what `sandbox env` exports with RABBITADMIN_URL) is never sent to the target's
    # own server when the target has a password source: a leftover sandbox password would reach prod.
    monkeypatch.setenv("RABBITADMIN_PASSWORD", "from-variable")
    prod = with_target({**NO_OPTIONS, "target": "prod", "password": "from-variable"})  # typer reads the variable
    assert settings_for(prod).password.reveal() == "from-target"  # type: ignore[union-attr]
    assert "is not sent to target 'prod'" in capsys.readouterr().err
    # With the server of RABBITADMIN_URL (given, not the target's), the variable goes with it and wins.
    elsewhere = with_target(
        {**NO_OPTIONS, "target": "prod", "url": ["http://sandbox:15672"], "password": "from-variable"}
    )
    assert settings_for(elsewhere).password.reveal() == "from-variable"  # type: ignore[union-attr]
    assert "overrides the password of target 'prod'" in capsys.readouterr().err
    explicit = with_target({**NO_OPTIONS, "target": "prod", "password": "from-option"})
    assert settings_for(explicit).password.reveal() == "from-option"  # type: ignore[union-attr]


def test_shown_target_holds_no_secret(targets_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROD_PW", "s3cret-value")
    shown = load_targets().get("prod").shown()
    assert shown["password"] == "environment variable PROD_PW (set)"
    assert "s3cret-value" not in repr(shown)


@pytest.mark.parametrize(
    ("value", "choices", "hint"),
    [
        ("qourum", ["classic", "quorum", "stream"], "quorum"),
        ("fanuot", ["direct", "fanout", "topic", "headers"], "fanout"),
        ("jsn", ["text", "json"], "json"),
        ("htp", ["http", "ctl"], "http"),
        ("zzzzzz", ["http", "ctl"], None),
    ],
)
def test_did_you_mean(value: str, choices: list[str], hint: str | None) -> None:
    assert did_you_mean(value, choices) == (f" (did you mean {hint!r}?)" if hint else "")


def test_unknown_value_lists_the_choices() -> None:
    assert unknown_value("queue type", "qourum", ["classic", "quorum", "stream"]) == (
        "unknown queue type 'qourum' (did you mean 'quorum'?): use classic, quorum or stream"
    )
