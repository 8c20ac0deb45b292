"""validate: permission patterns are PCRE (as the server compiles them) and blank passwords are refused
(as the server refuses them at login). Offline; the server's side is proven in tests/audit and tests/admin."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from rabbitadmin.errors import TopologyError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.model import Permission, TopicPermission

PERM = "vhosts: [{{name: v}}]\nusers: [{{name: u}}]\npermissions: [{{user: u, vhost: v, {}}}]\n"
TOPIC = "vhosts: [{{name: v}}]\nusers: [{{name: u}}]\ntopic_permissions: [{{user: u, vhost: v, exchange: x, {}}}]\n"


def problems(text: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, "t.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    "pattern",
    ["\\\\p{L}+", "(?<svc>svc)\\\\.", "\\\\Qa.b\\\\E", "[[:alpha:]]+", "(?i)^a", "a++", "(?#c)x", "^(?|(a)|(b))$"],
)
def test_pcre_patterns_the_server_accepts_are_accepted(pattern: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Python's re would warn about [[:alpha:]] ("nested set")
        topo = load_topology_text(PERM.format(f'configure: "{pattern}", write: "", read: ""'))
        topics = load_topology_text(TOPIC.format(f'write: "{pattern}", read: ".*"'))
    (perm,) = topo.permissions.values()
    assert isinstance(perm, Permission) and perm.configure == pattern.replace("\\\\", "\\")
    (topic,) = topics.topic_permissions.values()
    assert isinstance(topic, TopicPermission) and topic.write == perm.configure


@pytest.mark.parametrize(("pattern", "reason"), [("[", "missing terminating ]"), ("[[:nope:]]", "unknown POSIX")])
def test_patterns_pcre_refuses_are_refused_with_pcre_reason(pattern: str, reason: str) -> None:
    found = problems(PERM.format(f'configure: "{pattern}", write: "", read: ""'))
    assert len(found) == 1 and found[0].startswith("t.yaml:3: permissions[0].configure: not a valid regular")
    assert reason in found[0]


def test_blank_password_from_env_or_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EMPTY_PW", "")
    text = "users:\n  - {name: a, password: {env: EMPTY_PW}}\n"
    assert problems(text) == [
        "t.yaml:2: users[0].password: the password is empty: blank passwords are prohibited by the server"
    ]
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(TopologyError, match="blank passwords are prohibited"):
        load_topology_text(f"users:\n  - {{name: a, password: {{file: {tmp_path / 'empty.txt'}}}}}\n")
    monkeypatch.setenv("EMPTY_PW", "   ")  # spaces are an ordinary password to the server
    (user,) = load_topology_text(text).users.values()
    assert user.password is not None and user.password.reveal() == "   "
    # Without resolving secrets (drift, plan --no-secrets paths) nothing is read, so nothing is refused.
    assert load_topology_text(text, resolve_secrets=False).users
