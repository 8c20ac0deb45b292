"""Tutorial 1 with real processes: what is sent is received; a consumer stops cleanly on Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable

from .conftest import Runner, tutorial


def test_what_is_sent_is_received(
    tut_env: dict[str, str], tutorial_vhost: str, start_runner: Callable[..., Runner]
) -> None:
    receiver = start_runner("receive", "--vhost", tutorial_vhost, "--count", "2", "--timeout", "30")
    receiver.wait_for(" [*] Waiting for messages. To exit press CTRL+C")
    first = tutorial(tut_env, "run", "send", "--vhost", tutorial_vhost)
    second = tutorial(tut_env, "run", "send", "--vhost", tutorial_vhost, "--", "-dash", "and", "é")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert first.stdout == " [x] Sent 'Hello World!'\n"
    assert second.stdout == " [x] Sent '-dash and é'\n"
    assert receiver.finish() == 0, receiver.stderr
    assert receiver.received() == [" [x] Received 'Hello World!'", " [x] Received '-dash and é'"]


def test_a_message_sent_first_waits_in_the_queue(tut_env: dict[str, str], tutorial_vhost: str) -> None:
    sent = tutorial(tut_env, "run", "send", "waited", "--vhost", tutorial_vhost)
    assert sent.returncode == 0, sent.stderr
    received = tutorial(tut_env, "run", "receive", "--vhost", tutorial_vhost, "--count", "1", "--timeout", "20")
    assert received.returncode == 0, received.stderr
    assert received.stdout.splitlines() == [
        " [*] Waiting for messages. To exit press CTRL+C",
        " [x] Received 'waited'",
    ]


def test_consumer_stops_cleanly_on_ctrl_c_and_after_idle_timeout(
    tutorial_vhost: str, start_runner: Callable[..., Runner]
) -> None:
    interrupted = start_runner("receive", "--vhost", tutorial_vhost)
    idle = start_runner("receive", "--vhost", tutorial_vhost, "--timeout", "1")
    interrupted.wait_for("Waiting for messages")
    assert interrupted.interrupt() == 0
    assert "Traceback" not in interrupted.stderr
    assert "Interrupted" in interrupted.stderr
    assert idle.finish(20) == 0, idle.stderr
    assert idle.received() == []


def test_count_leaves_later_messages_in_the_queue(tut_env: dict[str, str], tutorial_vhost: str) -> None:
    for message in ("one", "two"):
        assert tutorial(tut_env, "run", "send", message, "--vhost", tutorial_vhost).returncode == 0
    for expected in ("one", "two"):
        got = tutorial(tut_env, "run", "receive", "--vhost", tutorial_vhost, "--count", "1", "--timeout", "20")
        assert got.returncode == 0, got.stderr
        assert got.stdout.splitlines()[1:] == [f" [x] Received {expected!r}"]
