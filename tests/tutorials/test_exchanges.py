"""Tutorials 3 to 5 with real processes: fanout to every subscriber, direct routing by severity, topic patterns."""

from __future__ import annotations

import time
from collections.abc import Callable

from .conftest import Runner, tutorial


def _emit(env: dict[str, str], vhost: str, program: str, *args: str) -> str:
    done = tutorial(env, "run", program, "--vhost", vhost, "--", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _listeners(start_runner: Callable[..., Runner], vhost: str, program: str, *bindings: list[str]) -> list[Runner]:
    runners = [start_runner(program, "--vhost", vhost, "--timeout", "60", "--", *keys) for keys in bindings]
    for runner in runners:  # printed once the queue is bound and the consumer registered
        runner.wait_for(" [*] Waiting for logs. To exit press CTRL+C")
    return runners


def _stop(runners: list[Runner]) -> None:
    time.sleep(0.5)  # let any stray delivery arrive, so that "exactly" below means something
    for runner in runners:
        assert runner.interrupt() == 0, runner.stderr
        assert "Traceback" not in runner.stderr


def test_publish_subscribe_every_subscriber_gets_every_message(
    tut_env: dict[str, str], tutorial_vhost: str, start_runner: Callable[..., Runner]
) -> None:
    subscribers = [start_runner("receive_logs", "--vhost", tutorial_vhost, "--count", "3") for _ in range(3)]
    for subscriber in subscribers:
        subscriber.wait_for(" [*] Waiting for logs")
    assert _emit(tut_env, tutorial_vhost, "emit_log") == " [x] Sent 'info: Hello World!'\n"
    _emit(tut_env, tutorial_vhost, "emit_log", "warning:", "disk", "almost", "full")
    _emit(tut_env, tutorial_vhost, "emit_log", "error: gone")
    for subscriber in subscribers:
        assert subscriber.finish() == 0, subscriber.stderr
        assert subscriber.received() == [
            " [x] 'info: Hello World!'",
            " [x] 'warning: disk almost full'",
            " [x] 'error: gone'",
        ]


def test_routing_by_severity(tut_env: dict[str, str], tutorial_vhost: str, start_runner: Callable[..., Runner]) -> None:
    errors_only, everything = _listeners(
        start_runner, tutorial_vhost, "receive_logs_direct", ["error"], ["info", "warning", "error"]
    )
    assert _emit(tut_env, tutorial_vhost, "emit_log_direct", "info", "all", "fine") == " [x] Sent 'info':'all fine'\n"
    _emit(tut_env, tutorial_vhost, "emit_log_direct", "warning", "hmm")
    _emit(tut_env, tutorial_vhost, "emit_log_direct", "debug", "nobody listens")
    _emit(tut_env, tutorial_vhost, "emit_log_direct", "error", "Run. Run. Or it will explode.")
    everything.wait_for("'error'")
    _stop([errors_only, everything])
    assert errors_only.received() == [" [x] 'error':'Run. Run. Or it will explode.'"]
    assert everything.received() == [
        " [x] 'info':'all fine'",
        " [x] 'warning':'hmm'",
        " [x] 'error':'Run. Run. Or it will explode.'",
    ]


def test_routing_consumer_needs_a_severity(tut_env: dict[str, str], tutorial_vhost: str) -> None:
    done = tutorial(tut_env, "run", "receive_logs_direct", "--vhost", tutorial_vhost)
    assert done.returncode == 2
    assert "Usage: rabbitadmin tutorial run receive_logs_direct [info] [warning] [error]" in done.stderr


def test_topics_patterns(tut_env: dict[str, str], tutorial_vhost: str, start_runner: Callable[..., Runner]) -> None:
    kern, critical, both, everything = _listeners(
        start_runner, tutorial_vhost, "receive_logs_topic", ["kern.*"], ["*.critical"], ["kern.*", "*.critical"], ["#"]
    )
    sent = _emit(tut_env, tutorial_vhost, "emit_log_topic", "kern.critical", "A critical kernel error")
    assert sent == " [x] Sent 'kern.critical':'A critical kernel error'\n"
    for key in ("kern.info", "cron.critical", "cron.info", "kern.disk.full"):
        _emit(tut_env, tutorial_vhost, "emit_log_topic", key, f"about {key}")
    everything.wait_for("'kern.disk.full'")
    _stop([kern, critical, both, everything])
    first = " [x] 'kern.critical':'A critical kernel error'"
    assert kern.received() == [first, " [x] 'kern.info':'about kern.info'"]
    assert critical.received() == [first, " [x] 'cron.critical':'about cron.critical'"]
    # One queue with two matching bindings still gets one copy.
    assert both.received() == [
        first,
        " [x] 'kern.info':'about kern.info'",
        " [x] 'cron.critical':'about cron.critical'",
    ]
    assert everything.received() == [
        first,
        " [x] 'kern.info':'about kern.info'",
        " [x] 'cron.critical':'about cron.critical'",
        " [x] 'cron.info':'about cron.info'",
        " [x] 'kern.disk.full':'about kern.disk.full'",  # `*` is one word: only `#` matches three
    ]
