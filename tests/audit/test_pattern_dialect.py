"""The pattern dialect against the node's own Erlang ``re``: every (pattern, name) pair is compiled and
searched on the node exactly as ``rabbit_auth_backend_internal`` does it (``re:compile`` of the pattern's
bytes when it is set, ``re:run(Name, Pattern, [{capture, none}])`` when it is checked), and the answers of
``rabbitadmin.audit.patterns`` must be the same."""

from __future__ import annotations

import base64
import json

from rabbitadmin.audit.patterns import PROBE_NAMES, name_matches, pattern_is_valid
from rabbitadmin.sandbox import Sandbox, SandboxInfo
from tests.audit.test_patterns import FULL, PCRE_CASES
from tests.ctl.conftest import ctl_backend_for

INVALID = ["(unclosed", "[", "a{2,1}", "*", "(?<n>a)(?<n>b)", "\\", "(?<=a+)b", "\\p{NoSuchProperty}"]
MORE = ["^(?!amq\\.).*", "^amq\\.gen", "^$", "^jbos$", "(?!)", "^[a-z]+$", "^\\w+", "[[:punct:]]", "\\bname\\b"]
NAMES = ["abc", "123", "svc.jobs", "xa.by", "é", "é-名前", "any.name", "", "a b", *PROBE_NAMES]
# Erlang's re classifies bytes above 127 with ISO-8859-1 character tables (0xC3 is a letter, 0xA9 is
# punctuation); the pcre2 binding has ASCII tables and no way to load others. So constructs that consult the
# tables are compared on ASCII names only (the known difference, documented in docs/access.md).
TABLE_DEPENDENT = ("\\w", "\\W", "\\s", "\\S", "\\d", "\\D", "\\b", "\\B", "\\h", "[[:", "(?i)")


def _compared(pattern: str, name: str) -> bool:
    return name.isascii() or not any(marker in pattern for marker in TABLE_DEPENDENT)


_EXPRESSION = """Pairs = rabbit_json:decode(base64:decode(<<"@PAIRS@">>)),
Verdict = fun([P, N]) ->
    case re:compile(binary_to_list(P)) of
        {ok, _} -> case re:run(N, P, [{capture, none}]) of match -> true; nomatch -> false end;
        {error, _} -> <<"invalid">>
    end end,
io:format("verdicts:~s~n", [base64:encode(rabbit_json:encode([Verdict(X) || X <- Pairs]))])."""


def test_patterns_match_as_the_nodes_erlang_re(sandbox: Sandbox, node: SandboxInfo) -> None:
    patterns = sorted({p for p, _, _ in PCRE_CASES} | set(FULL) | set(INVALID) | set(MORE))
    names = sorted({*NAMES, *(n for _, n, _ in PCRE_CASES)})
    pairs = [(p, n) for p in patterns for n in names if _compared(p, n)]
    payload = base64.b64encode(json.dumps(pairs, ensure_ascii=False).encode("utf-8")).decode("ascii")
    backend = ctl_backend_for(sandbox, node)
    try:
        output = backend.ctl.run(["eval", _EXPRESSION.replace("@PAIRS@", payload)])
    finally:
        backend.close()
    line = next(line for line in output.splitlines() if line.startswith("verdicts:"))
    verdicts = json.loads(base64.b64decode(line.removeprefix("verdicts:")))
    assert len(verdicts) == len(pairs)
    wrong = []
    for (pattern, name), server in zip(pairs, verdicts, strict=True):
        ours: bool | str = name_matches(pattern, name) if pattern_is_valid(pattern) else "invalid"
        # The server replaces "" by "^$" when it checks access (and accepts "" when it is set).
        expected = (name == "") if pattern == "" else server
        if ours != expected:
            wrong.append(f"{pattern!r} on {name!r}: server {expected}, rabbitadmin {ours}")
    assert not wrong, "\n".join(wrong)
    # Both outcomes and the refusals occurred, so a wrong verdict in any direction would show.
    assert {True, False, "invalid"} <= set(verdicts)
