"""Secrets in what a server or rabbitmqctl writes back, in a ``repr`` and in a plan's field changes: a value under
a secret-named key is masked as a URI password is (found by a helper: only URI passwords were)."""

from __future__ import annotations

import pytest

from rabbitadmin.backends.memory import MemoryBackend
from rabbitadmin.engine import execute_plan, make_plan
from rabbitadmin.errors import CtlError, ServerError
from rabbitadmin.loader import load_topology_text
from rabbitadmin.masking import mask_text
from rabbitadmin.model import GlobalParameter, Parameter


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('{"password":"PwLeak","user":"a"}', '{"password":"***","user":"a"}'),
        ('{"nested": {"client-secret" : "S\\"x"}}', '{"nested": {"client-secret" : "***"}}'),
        ('[{<<"token">>,<<"TokLeak">>},{<<"x">>,<<"1">>}]', '[{<<"token">>,<<"***">>},{<<"x">>,<<"1">>}]'),
        ('[{<<"api-token"/utf8>>,<<"T">>}]', '[{<<"api-token"/utf8>>,<<"***">>}]'),
        ('%{"password" => "P", "name" => "n"}', '%{"password" => "***", "name" => "n"}'),
        ("uri amqp://u:pw@h/v refused", "uri amqp://u:***@h/v refused"),
        ('"password": ""', '"password": ""'),  # nothing secret in an empty value
        ('"name": "password"', '"name": "password"'),  # a key named otherwise keeps its value
    ],
)
def test_mask_text_masks_secret_keys_in_every_spelling(text: str, shown: str) -> None:
    assert mask_text(text) == shown


def test_errors_quoting_a_refused_value_never_show_its_secret() -> None:
    server = ServerError("PUT", "/api/global-parameters/g", 400, 'Validation failed {"password":"PwLeak"}')
    ctl = CtlError("import_definitions", 70, 'error: [{<<"secret">>,<<"SecLeak">>}]')
    assert "PwLeak" not in str(server) and "***" in str(server)
    assert "SecLeak" not in str(ctl) and "***" in str(ctl)


def test_a_parameter_s_repr_masks_secret_keys() -> None:
    value = {"password": "PwLeak", "uri": "amqp://u:UriLeak@h", "nested": {"token": "TokLeak"}, "plain": "kept"}
    for obj in (Parameter("v", "shovel", "s", value), GlobalParameter("g", value)):
        shown = repr(obj)
        assert not {"PwLeak", "UriLeak", "TokLeak"} & set(shown.replace("'", " ").split()), shown
        assert "kept" in shown


def test_a_change_of_a_secret_key_alone_shows_as_changed() -> None:
    def doc(password: str) -> str:
        return f"global_parameters: [{{name: g, value: {{password: {password}, plain: 1}}}}]\n"

    backend = MemoryBackend()
    execute_plan(make_plan(load_topology_text(doc("old-secret"), "a.yaml"), backend), backend)
    (change,) = make_plan(load_topology_text(doc("new-secret"), "b.yaml"), backend).changes
    (field,) = change.fields
    assert field.secret and field.before is None and field.after is None
