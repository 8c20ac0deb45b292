"""The early read's pure parts: which command lines start it, the settings it uses, the vhost names it reads.

Its answers taken by a real read are proven against a node in tests/integration/test_early_read.py.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rabbitadmin import early_read
from rabbitadmin.backends.http.paths import DEPRECATED_FEATURES_READ, VERSION_READ, server_listings, vhost_listing
from rabbitadmin.cli import app
from rabbitadmin.cli_entry import hoist_global_options
from rabbitadmin.connection import resolve_settings
from rabbitadmin.early_read.command_line import (
    FLOAT_PARAMETERS,
    OUTPUT_CHOICES,
    PARALLEL_TARGETS_RANGE,
    PLAN_FLAGS,
    PLAN_VALUE_OPTIONS,
    ROOT_FLAGS,
    ROOT_MULTIPLE,
    ROOT_VALUE_OPTIONS,
    TIMEOUT_MIN,
    plan_command_line,
)
from rabbitadmin.early_read.fetch import EarlyAnswer, tls_context
from rabbitadmin.early_read.vhost_names import PREFIX_BYTES, file_prefix, vhost_names
from rabbitadmin.errors import UsageError
from rabbitadmin.loader import parse_events

ROOT = typer.main.get_command(app)
PLAN = ROOT.commands["plan"]  # type: ignore[attr-defined]
#: What the early read sends besides the vhosts' listings.
SERVER_WIDE = [*server_listings(), VERSION_READ, DEPRECATED_FEATURES_READ]
#: Flags that end the program before any command runs: never part of an early read.
EAGER_OR_COMPLETION = {"--version", "--install-completion", "--show-completion", "--help"}


@pytest.fixture(autouse=True)
def _no_answers_left() -> Iterator[None]:
    yield
    early_read.forget()


# -- the option tables are the command line's -------------------------------------------------------------
def test_the_root_option_tables_are_the_main_callbacks_options() -> None:
    values, flags = {}, {}
    for param in ROOT.params:
        for name in (*param.opts, *param.secondary_opts):
            if name in EAGER_OR_COMPLETION:
                continue
            if param.is_flag:  # type: ignore[attr-defined]
                flags[name] = param.name
            else:
                values[name] = (param.name, param.envvar)
    assert values == ROOT_VALUE_OPTIONS
    assert flags == ROOT_FLAGS
    multiple = {param.name for param in ROOT.params if getattr(param, "multiple", False)}
    assert multiple == ROOT_MULTIPLE


def test_the_plan_option_tables_are_the_plan_commands_options() -> None:
    options = [p for p in PLAN.params if p.param_type_name == "option"]
    assert {n for p in options if p.is_flag for n in p.opts} == PLAN_FLAGS  # type: ignore[attr-defined]
    values = {n: p.name for p in options if not p.is_flag for n in p.opts if n != "--help"}  # type: ignore[attr-defined]
    assert values == PLAN_VALUE_OPTIONS
    assert [p.name for p in PLAN.params if p.param_type_name == "argument"] == ["file"]


def test_the_value_checks_are_the_options_types() -> None:
    types = {param.name: param.type for param in (*ROOT.params, *PLAN.params)}
    assert tuple(types["output"].choices) == OUTPUT_CHOICES  # type: ignore[attr-defined]
    assert (types["parallel_targets"].min, types["parallel_targets"].max) == PARALLEL_TARGETS_RANGE  # type: ignore[attr-defined]
    assert types["timeout"].min == TIMEOUT_MIN  # type: ignore[attr-defined]
    numbers = {name for name, kind in types.items() if kind.name in ("float", "float range")}
    assert numbers == FLOAT_PARAMETERS


# -- the command line, read as click reads it --------------------------------------------------------------
def click_reading(argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], str]:
    """The root options click gives the main callback for ``argv`` (moved as ``cli.main`` moves them), and
    the plan's file; raises click's usage error for a command line it refuses."""
    for name in {v for _, v in ROOT_VALUE_OPTIONS.values() if v}:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = hoist_global_options(ROOT, argv)
    context = ROOT.make_context("rabbitadmin", list(args))
    rest = [*context._protected_args, *context.args]  # type: ignore[attr-defined]
    assert rest[0] == "plan"
    plan = PLAN.make_context("plan", rest[1:], parent=context)
    given = {
        name: (list(value) if isinstance(value, tuple) else value)
        for name, value in context.params.items()
        if value not in (None, False, ()) and name != "url"
    }
    if context.get_parameter_source("url").name == "COMMANDLINE":  # RABBITADMIN_URL: resolve_settings reads it
        given["url"] = list(context.params["url"])
    return given, str(plan.params["file"])


def as_click_converts(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the values click converts (the float options) converted."""
    return {name: float(value) if name in ("timeout", "ctl_timeout") else value for name, value in options.items()}


COMMON = [
    (["plan", "t.yaml"], {}),
    (["plan", "t.yaml", "-o", "json", "--detailed-exitcode"], {"RABBITADMIN_USER": "ops"}),
    (["--url", "http://a:15672", "--url=http://b:15672", "plan", "t.yaml"], {}),
    (["-ubob", "--password-file", "/p", "--insecure", "plan", "--prune", "t.yaml"], {}),
    (["--user=bob", "plan", "t.yaml", "--insecure", "-u", "eve"], {}),
    (["plan", "t.yaml", "--user", "bob", "--timeout=5", "-ojson"], {"RABBITADMIN_PASSWORD_FILE": "/env"}),
    (["plan", "t.yaml", "--var", "a=1", "--var", "b=2", "--summary", "--no-pager"], {"RABBITADMIN_URL": "http://x"}),
    (["--ca-bundle", "/ca.pem", "plan", "t.yaml", "--parallel-targets", "3"], {"RABBITADMIN_CLIENT_CERT": "/c"}),
]


@pytest.mark.parametrize(("argv", "env"), COMMON)
def test_a_plan_command_line_is_read_as_click_reads_it(
    argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = plan_command_line(argv, env)
    assert ours is not None
    assert (as_click_converts(ours.options), ours.file) == click_reading(argv, env, monkeypatch)


TOKENS = [
    "plan", "t.yaml", "u.yaml", "apply", "-u", "bob", "-ubob", "--user", "--user=eve", "--url", "http://h",
    "--url=http://g", "--password", "pw", "--password-file", "/pf", "--insecure", "--timeout", "7", "--target",
    "prod", "--backend", "ctl", "--backend=http", "--var", "x=1", "-o", "json", "-ojson", "--prune", "--summary",
    "--help", "--version", "--", "-x", "--parallel-targets", "2", "--ca-bundle", "/ca",
]  # fmt: skip
ENVS = st.dictionaries(
    st.sampled_from(["RABBITADMIN_USER", "RABBITADMIN_PASSWORD_FILE", "RABBITADMIN_TARGET", "RABBITADMIN_BACKEND"]),
    st.sampled_from(["", "v1", "http", "a b"]),
    max_size=2,
)


@settings(max_examples=400, deadline=None)
@given(argv=st.lists(st.sampled_from(TOKENS), max_size=9), env=ENVS)
def test_a_command_line_read_here_is_read_the_same_by_click(argv: list[str], env: dict[str, str]) -> None:
    # Whatever this module reads as a plan command line, click reads the same way (None: click's to read).
    ours = plan_command_line(argv, env)
    if ours is None:
        return
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert (as_click_converts(ours.options), ours.file) == click_reading(argv, env, monkeypatch)


@pytest.mark.parametrize(
    "argv",
    [
        ["apply", "t.yaml"],
        ["validate", "t.yaml"],
        ["plan"],
        ["plan", "a.yaml", "b.yaml"],
        ["plan", "--help"],
        ["--help", "plan", "t.yaml"],
        ["--version", "plan", "t.yaml"],
        ["plan", "--", "t.yaml"],
        ["plan", "t.yaml", "--bogus"],
        ["-o", "json", "plan", "t.yaml"],
        ["plan", "t.yaml", "--user"],
        ["targets", "list"],
        [],
        # command lines click refuses: a value its type does not take
        ["plan", "t.yaml", "-o", "yml"],
        ["plan", "t.yaml", "-o=json"],
        ["plan", "--output", "t.yaml", "json"],
        ["plan", "t.yaml", "--parallel-targets", "x"],
        ["plan", "t.yaml", "--parallel-targets", "33"],
        ["plan", "t.yaml", "--timeout", "prod"],
        ["--timeout", "-u", "plan", "t.yaml"],
        ["plan", "t.yaml", "--timeout", "nan"],
    ],
)
def test_other_command_lines_get_no_early_read(argv: list[str]) -> None:
    assert plan_command_line(argv, {}) is None


def test_a_float_option_click_refuses_from_its_variable_stops_it() -> None:
    assert plan_command_line(["plan", "t.yaml"], {"RABBITADMIN_CTL_TIMEOUT": "abc"}) is None
    assert plan_command_line(["plan", "t.yaml"], {"RABBITADMIN_CTL_TIMEOUT": "2.5"}) is not None


# -- the settings ---------------------------------------------------------------------------------------------
def settings_of(argv: list[str], env: dict[str, str]) -> Any:
    command = plan_command_line(argv, env)
    assert command is not None
    return early_read.early_settings(command, env)


def test_the_settings_are_resolve_settings_of_the_same_values(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    env = {"RABBITADMIN_URL": "http://n1:15672", "RABBITADMIN_URLS": "http://n1:15672,http://n2:15672"}
    env |= {"RABBITADMIN_PASSWORD": "from-env", "RABBITADMIN_PASSWORD_FILE": str(secret)}
    got = settings_of(["--user", "ops", "plan", "t.yaml", "--timeout", "9"], env)
    # The password file named by its variable wins over RABBITADMIN_PASSWORD, as typer passes it to the callback.
    assert got == resolve_settings(user="ops", password_file=str(secret), timeout=9.0, environ=env)
    assert got.password.reveal() == "from-file" and got.urls == ("http://n1:15672", "http://n2:15672")


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--target", "prod", "plan", "t.yaml"], {}),
        (["plan", "t.yaml"], {"RABBITADMIN_TARGET": "prod"}),
        (["--backend", "ctl", "plan", "t.yaml"], {}),
        (["plan", "t.yaml"], {"RABBITADMIN_BACKEND": "ctl"}),
        (["plan", "t.yaml"], {"HTTPS_PROXY": "http://proxy:3128"}),
        (["plan", "t.yaml"], {"http_proxy": "http://proxy:3128"}),
        (["plan", "t.yaml"], {"Http_Proxy": "http://proxy:3128"}),  # requests reads any case
        (["plan", "t.yaml"], {"ALL_PROXY": "socks5://proxy:1080"}),
        (["plan", "t.yaml"], {early_read.OPT_OUT: "1"}),
        (["--url", "http://straße.example:15672", "plan", "t.yaml"], {}),  # IDNA: requests encodes it otherwise
        (["--url", "http://lo\tcalhost:15672", "plan", "t.yaml"], {}),  # urlsplit drops the tab; requests refuses
        (["--url", "http://h:15672/a/../", "plan", "t.yaml"], {}),  # requests resolves the dot segments
    ],
)
def test_the_early_read_stays_out_of_what_it_does_not_handle(argv: list[str], env: dict[str, str]) -> None:
    assert settings_of(argv, env) is None


def test_a_proxy_for_nothing_is_no_proxy() -> None:
    assert settings_of(["plan", "t.yaml"], {"NO_PROXY": "localhost", "http_proxy": ""}) is not None


def test_a_url_resolve_settings_refuses_sends_nothing(tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_text("vhosts:\n  - name: v\n")
    with pytest.raises(UsageError):
        settings_of(["--url", "ftp://h", "plan", str(topology)], {})
    assert early_read.begin(["--url", "ftp://h", "plan", str(topology)], {}) == 0
    sent = early_read.begin(["--url", "http://127.0.0.1:9", "plan", str(topology)], {})  # the same, valid
    assert sent == 3 + len(SERVER_WIDE)  # the vhost's three listings, then the server's


def test_begin_sends_nothing_and_says_nothing_for_what_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.yaml"
    assert early_read.begin(["plan", str(missing)], {"RABBITADMIN_URL": "http://127.0.0.1:9"}) == 0
    bad_password_file = {"RABBITADMIN_PASSWORD_FILE": str(tmp_path), "RABBITADMIN_URL": "http://127.0.0.1:9"}
    topology = tmp_path / "t.yaml"
    topology.write_text("vhosts:\n  - name: v\n")
    assert early_read.begin(["plan", str(topology)], bad_password_file) == 0  # a directory: UsageError, caught
    assert capsys.readouterr() == ("", "")
    assert early_read.untaken() == 0


def test_an_answer_made_with_other_settings_or_for_another_node_is_not_taken() -> None:
    url = "http://127.0.0.1:9"
    mine = resolve_settings(url=url, user="a", password="p", environ={})
    others = [
        resolve_settings(url=url, user="b", password="p", environ={}),
        resolve_settings(url=url, user="a", password="q", environ={}),
        resolve_settings(url=url, user="a", password="p", ca_bundle="/ca.pem", environ={}),
        resolve_settings(url=url, user="a", password="p", insecure=True, environ={}),
        resolve_settings(url=url, user="a", password="p", client_cert="/c.pem", environ={}),
        resolve_settings(url=url, user="a", password="p", timeout=5, environ={}),
    ]
    listing = vhost_listing("queue", "v")
    early_read._answers[early_read._key(url, *listing)] = EarlyAnswer(mine, url, listing)
    for other in others:
        assert other != mine and early_read.take(other, url, *listing) is None
    assert early_read.take(mine, "http://127.0.0.1:10", *listing) is None
    assert early_read.take(mine, url, listing.path, {**listing.params, "sort": "name"}) is None
    assert early_read.untaken() == 1


def test_a_fetch_thread_that_cannot_start_leaves_nothing_to_wait_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_text("vhosts:\n  - name: v\n")

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    assert early_read.begin(["--url", "http://127.0.0.1:9", "plan", str(topology)], {}) == 0
    assert early_read.untaken() == 0


def test_an_answer_that_never_comes_is_waited_for_at_most_the_timeout() -> None:
    silent = socket.socket()  # accepts connections (the kernel's backlog), never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    settings_ = resolve_settings(url=url, user="a", password="p", timeout=0.3, environ={})
    listing = vhost_listing("binding", "v")
    answer = EarlyAnswer(settings_, url, listing)
    answer.start()
    early_read._answers[early_read._key(url, *listing)] = answer
    done = threading.Event()
    result: list[Any] = []

    def wait() -> None:
        result.append(early_read.take(settings_, url, *listing))
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    try:
        assert not done.wait(0.1), "take gave up before the request's deadline"
        assert done.wait(10), "take waited past the request's deadline"
        assert result == [None] and early_read.untaken() == 0
    finally:
        silent.close()


# -- vhost names from the beginning of the file ---------------------------------------------------------------
def loader_names(text: str) -> list[str]:
    told: list[str] = []
    parse_events(text, "t.yaml", told.append)
    return told


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("vhosts:\n  - name: a\n    queues: [{name: q}]\n  - {name: b}\nusers: [{name: u}]\n", ["a", "b"]),
        (
            '{"vhosts": [{"name": "/"}, {"limits": {}, "name": "x"}], "queues": [{"name": "q", "vhost": "/"}]}',
            ["/", "x"],
        ),
        ("vhosts:\n  - name: 12\n  - name: '12'\n  - name: true\n  - name: [a]\n", ["12"]),
        ("users: [{name: u}]\nvhosts:\n  - description: d\n    name: late\n", ["late"]),
        ("vhosts:\n  - [name, z]\n  - name: ok\n", ["ok"]),
        ("queues:\n  - name: q\n    vhost: v\n", []),
        ("vhosts: {name: a}\n", []),
        ("vhosts:\n  - name: 'a: b'\n  - name: \"ünï\"\n", ["a: b", "ünï"]),
    ],
)
def test_vhost_names_follow_the_loaders_rule(text: str, names: list[str]) -> None:
    assert vhost_names(text, 8) == names
    assert loader_names(text) == names


def test_a_name_with_a_variable_is_left_to_the_loader() -> None:
    assert vhost_names("vhosts:\n  - name: ${env}-orders\n  - name: plain\n", 8) == ["plain"]


def test_no_more_names_than_asked_and_none_past_the_cut() -> None:
    text = "vhosts:\n" + "".join(f"  - name: v{i}\n" for i in range(10))
    assert vhost_names(text, 3) == ["v0", "v1", "v2"]
    assert vhost_names(text + "  - name: [unclosed\n", 20) == [f"v{i}" for i in range(10)]


TEXT = st.characters(blacklist_categories=("Cc", "Cs"))  # what YAML may hold
NAMES = st.one_of(st.text(TEXT, min_size=1, max_size=12), st.integers(), st.booleans())
VHOSTS = st.lists(
    st.fixed_dictionaries({"name": NAMES}, optional={"description": st.text(TEXT, max_size=5), "queues": st.lists(
        st.fixed_dictionaries({"name": st.text(TEXT, min_size=1, max_size=5)}), max_size=2)}),
    max_size=4,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(vhosts=VHOSTS, before=st.booleans(), flow=st.sampled_from([None, False, True]), as_json=st.booleans())
# PyYAML writes 0E0 plain (a string to its YAML 1.1 rules); the loader reads it as JSON does, a float: no name.
@example(vhosts=[{"name": "0E0"}, {"name": "1e5"}, {"name": "v"}], before=False, flow=None, as_json=False)
def test_vhost_names_agree_with_the_loader(
    vhosts: list[dict[str, Any]], before: bool, flow: bool | None, as_json: bool
) -> None:
    document: dict[str, Any] = {"users": [{"name": "u"}]} if before else {}
    document["vhosts"] = vhosts
    text = (
        json.dumps(document, ensure_ascii=False)
        if as_json
        else yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    )
    if "&" in text or "${" in text:
        return  # the loader tells no names on that path (parse_document): nothing to agree with
    expected = [name for name in loader_names(text) if "$" not in name]
    assert vhost_names(text, 8) == expected[:8]


def test_the_beginning_of_a_large_file_holds_its_first_vhost(tmp_path: Path) -> None:
    path = tmp_path / "large.yaml"
    queues = "".join(f"      - name: queue-{i:06d}\n" for i in range(20_000))
    path.write_text(f"vhosts:\n  - name: big\n    queues:\n{queues}  - name: second\n")
    text = file_prefix(str(path))
    assert text is not None and len(text.encode()) <= PREFIX_BYTES and text.endswith("\n")
    assert vhost_names(text, 4) == ["big"]  # the second is past the beginning: the read names it later


def test_a_fifo_is_not_opened(tmp_path: Path) -> None:
    # A writer waits for the FIFO's reader (a shell's `plan <(...)` or a named pipe): the early read must not be
    # that reader, or the writer is let through and killed by SIGPIPE when it closes, and the plan gets nothing.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    content = "vhosts:\n  - name: v\n"
    written = threading.Event()

    def writer() -> None:
        with open(fifo, "w") as pipe:  # blocks until a reader opens the FIFO
            pipe.write(content)
        written.set()

    threading.Thread(target=writer, daemon=True).start()
    assert file_prefix(str(fifo)) is None
    assert not written.wait(0.3), "the early read opened the FIFO"
    with open(fifo) as pipe:  # the plan's own read gets all of it
        assert pipe.read() == content
    assert written.wait(5)


def test_only_a_regular_file_is_read(tmp_path: Path) -> None:
    assert file_prefix("/dev/null") is None  # a device: refused before it is opened
    assert file_prefix(str(tmp_path)) is None
    assert file_prefix(str(tmp_path / "missing")) is None
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("vhosts: [{name: caf\xe9}]\n".encode("latin-1"))
    assert file_prefix(str(latin)) is None


def test_a_client_key_with_a_passphrase_is_left_to_the_client(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-passout", "pass:secret", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=test"],
        check=True, capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    settings_ = resolve_settings(url="https://127.0.0.1:9", client_cert=str(cert), client_key=str(key), environ={})
    with pytest.raises(ssl.SSLError, match="passphrase"):  # raised, not asked for on the terminal
        tls_context(settings_, {})
    topology = tmp_path / "t.yaml"
    topology.write_text("vhosts:\n  - name: v\n")
    argv = ["--client-cert", str(cert), "--client-key", str(key), "plan", str(topology)]
    assert early_read.begin(argv, {"RABBITADMIN_URL": "https://127.0.0.1:9"}) == 0


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("san", "answered"), [(True, True), (False, False)])
def test_a_certificate_naming_its_host_only_in_the_cn_is_not_trusted(tmp_path: Path, san: bool, answered: bool) -> None:
    # requests (urllib3 2) checks the host name against the subjectAltName only; so must the early read, or it
    # would send the password to a server the plan's client refuses. The peer here is a bare TLS endpoint, not a
    # broker: what is under test is the client's certificate check (the broker's TLS: tests/integration/test_tls.py).
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=tmp_path)  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr", cwd=tmp_path)  # fmt: skip
    (tmp_path / "san.ext").write_text("subjectAltName=DNS:localhost\n" if san else "basicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
            "-out", "server.pem", "-extfile", "san.ext", cwd=tmp_path)  # fmt: skip

    class Listing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Listing)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://localhost:{server.server_address[1]}"
        settings_ = resolve_settings(url=url, user="a", password="p", ca_bundle=str(tmp_path / "ca.pem"), environ={})
        answer = EarlyAnswer(settings_, url, vhost_listing("queue", "v"), tls_context(settings_, {}))
        answer.start()
        assert (answer.body() == b"[]") is answered
    finally:
        server.shutdown()
        server.server_close()
