"""Routing assertions: the optional top-level ``expect:`` section of a topology, and its offline check.

Each item names a publish (``vhost``, ``exchange``, ``routing_key``, ``headers``) and what must happen to
it: ``reaches: [queue, ...]`` (exactly those queues, in any order) or ``unroutable: true``. ``validate``
reads the section through ``read_expectations`` and, when the rest of the file is valid, checks every
item with the routing simulator (``check_offline``); a failed expectation is a problem with its line like
any other. ``verify`` checks the same items against the live server (``rabbitadmin.routing.verify``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rabbitadmin.located import LocatedDict, LocatedList, plain
from rabbitadmin.model import Origin, Topology

if TYPE_CHECKING:
    from rabbitadmin.routing.simulate import Message, Route

#: Called with (message, line, field) for each problem found, like the validator's own ``problem``.
Report = Callable[[str, int | None, str | None], None]

# Off while route, graph, report and verify load a file: a failing expectation must not stop them.
_CHECK_OFFLINE: ContextVar[bool] = ContextVar("check_offline", default=True)

FIELDS = ("vhost", "exchange", "routing_key", "headers", "reaches", "unroutable")


@dataclass(frozen=True)
class Expectation:
    """One routing assertion. ``reaches`` is None for ``unroutable: true``, else the sorted queue names."""

    vhost: str
    exchange: str
    routing_key: str = ""
    headers: dict[str, Any] = field(default_factory=dict)
    reaches: tuple[str, ...] | None = None
    origin: Origin | None = field(default=None, compare=False)
    path: str = field(default="expect", compare=False)

    @property
    def message(self) -> Message:
        from rabbitadmin.routing.simulate import Message

        return Message(self.routing_key, self.headers)

    def describe(self) -> str:
        """``exchange 'logs' key 'a.b' headers {...} in vhost 'v'``, for reports."""
        headers = f" headers {self.headers}" if self.headers else ""
        return f"exchange {self.exchange!r} key {self.routing_key!r}{headers} in vhost {self.vhost!r}"

    def wanted(self) -> str:
        return "unroutable" if self.reaches is None else f"reaches {list(self.reaches)}"

    def holds(self, queues: tuple[str, ...]) -> bool:
        """Whether a route that delivered to ``queues`` (sorted) meets this expectation."""
        return queues == (self.reaches or ())


def read_expectations(document: Any, topology: Topology, filename: str, report: Report) -> list[Expectation]:
    """Read the ``expect`` list of a parsed topology document (located mappings from the loader).

    The vhost may be left out when the topology declares exactly one vhost. Problems go to ``report``;
    items with problems are dropped.
    """
    if not isinstance(document, LocatedDict) or document.get("expect") is None:
        return []
    items = document["expect"]
    if not isinstance(items, LocatedList):
        report("expected a list of expectations", document.line_of("expect"), "expect")
        return []
    only_vhost = next(iter(topology.vhosts))[0] if len(topology.vhosts) == 1 else None
    out: list[Expectation] = []
    for index, item in enumerate(items):
        path, line = f"expect[{index}]", items.line_of(index)
        if not isinstance(item, LocatedDict):
            report("expected a mapping", line, path)
            continue
        before = _Counter(report)
        parsed = _read_one(item, path, only_vhost, before)
        if parsed is not None and not before.count:
            vhost, exchange, key, headers, reaches = parsed
            out.append(Expectation(vhost, exchange, key, headers, reaches, Origin(filename, item.line), path))
    return out


class _Counter:
    """A ``Report`` that counts what it passes on."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.count = 0

    def __call__(self, message: str, line: int | None, field: str | None) -> None:
        self.count += 1
        self.report(message, line, field)


def _read_one(
    item: Any, path: str, only_vhost: str | None, report: Report
) -> tuple[str, str, str, dict[str, Any], tuple[str, ...] | None] | None:
    for key in item:
        if key not in FIELDS:
            report(f"unknown field {key!r}; allowed: {', '.join(FIELDS)}", item.line_of(key), f"{path}.{key}")

    def text(key: str, default: str | None) -> str | None:
        value = item.get(key, default)
        if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
            report("expected a string" if key in item else "is required", item.line_of(key), f"{path}.{key}")
            return None
        return str(value)

    vhost = text("vhost", only_vhost)
    if "vhost" not in item and only_vhost is None:
        return None  # text() said "is required": the topology has no single vhost to default to
    exchange = text("exchange", None)
    routing_key = text("routing_key", "")
    headers = item.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) for k in headers):
        report("expected a mapping of header names to values", item.line_of("headers"), f"{path}.headers")
    reaches, unroutable = item.get("reaches"), item.get("unroutable")
    queues: tuple[str, ...] | None = None
    if ("reaches" in item) == ("unroutable" in item):  # presence: a null value is a wrong value, not none
        report("give exactly one of reaches: [queues] or unroutable: true", item.line, path)
    elif "unroutable" in item and unroutable is not True:
        report(
            "must be true (to expect routing somewhere, list the queues in reaches)",
            item.line_of("unroutable"),
            f"{path}.unroutable",
        )
    elif "reaches" in item:
        if not isinstance(reaches, list) or not reaches or not all(isinstance(q, str) for q in reaches):
            report("expected a non-empty list of queue names", item.line_of("reaches"), f"{path}.reaches")
        else:
            queues = tuple(sorted(set(reaches)))
    if vhost is None or exchange is None or routing_key is None:
        return None
    return vhost, exchange, routing_key, plain(headers), queues


@dataclass(frozen=True)
class Outcome:
    """One expectation checked: what it asked and what routing gave (``route``) or why it could not run."""

    expectation: Expectation
    route: Route | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.route is not None and self.expectation.holds(self.route.queues)

    def explain(self) -> str:
        """Why it failed, in one sentence."""
        if self.error is not None:
            return self.error
        assert self.route is not None
        got = "is unroutable" if self.route.unroutable else f"reaches {list(self.route.queues)}"
        through = f" (through {', '.join(repr(x) for x in self.route.exchanges)})" if self.route.exchanges else ""
        return f"{self.expectation.describe()}: expected {self.expectation.wanted()}, but it {got}{through}"

    def to_dict(self) -> dict[str, Any]:
        e = self.expectation
        return {
            "where": str(e.origin) if e.origin else e.path,
            "vhost": e.vhost,
            "exchange": e.exchange,
            "routing_key": e.routing_key,
            "headers": e.headers,
            "expected": None if e.reaches is None else list(e.reaches),
            "got": None if self.route is None else list(self.route.queues),
            "passed": self.passed,
            "error": self.error,
        }


def simulate(topology: Topology, expectation: Expectation) -> Outcome:
    """Check one expectation with the routing simulator."""
    from rabbitadmin.errors import PublishRefused
    from rabbitadmin.routing.simulate import Router

    if (expectation.vhost,) not in topology.vhosts:
        return Outcome(expectation, None, f"vhost {expectation.vhost!r} is not declared in this topology")
    try:
        result = Router(topology, expectation.vhost).route(expectation.exchange, expectation.message)
    except PublishRefused as exc:
        return Outcome(expectation, None, str(exc))
    if not result.complete:
        types = ", ".join(f"{name!r} ({type_})" for name, type_ in result.unknown)
        return Outcome(
            expectation,
            result,
            f"cannot be checked offline: the message reaches plugin-type exchange(s) "
            f"{types}, whose routing rules are not simulated",
        )
    return Outcome(expectation, result)


def check_offline(topology: Topology, expectations: list[Expectation], report: Report) -> None:
    """Report each expectation the simulator does not confirm, at its line."""
    for expectation in expectations:
        outcome = simulate(topology, expectation)
        if not outcome.passed:
            line = expectation.origin.line if expectation.origin else None
            report(outcome.explain(), line, expectation.path)


def check_document(document: Any, topology: Topology, filename: str, report: Report, *, valid_so_far: bool) -> None:
    """What ``validate`` calls: read the ``expect`` section into ``topology.expectations`` and, when the
    rest of the document was valid (the simulator needs whole routing tables), check it offline."""
    expectations = read_expectations(document, topology, filename, report)
    topology.expectations = expectations
    if valid_so_far and _CHECK_OFFLINE.get():
        check_offline(topology, expectations, report)


@contextmanager
def offline_check_skipped() -> Iterator[None]:
    """Load topologies without checking their expectations (they are still read and shape-checked)."""
    token = _CHECK_OFFLINE.set(False)
    try:
        yield
    finally:
        _CHECK_OFFLINE.reset(token)
