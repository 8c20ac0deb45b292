"""Tutorial 2 with real processes: fair dispatch, redelivery after a worker dies, persistence across a restart."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rabbitadmin.sandbox import Sandbox

from .conftest import TUTORIAL, TUTORIAL_PASSWORD, Runner, base_env, provision, tutorial, wait_until


def _one_at_a_time(runner: Runner) -> bool:
    """Every ' [x] Received' is followed by its ' [x] Done' before the next one starts."""
    work = [line for line in runner.lines if line.startswith(" [x] ")]
    return (
        all(line.startswith(" [x] Received" if i % 2 == 0 else " [x] Done") for i, line in enumerate(work))
        and len(work) % 2 == 0
    )


def _start_two_workers(start_runner: Callable[..., Runner], vhost: str) -> tuple[Runner, Runner]:
    workers = (
        start_runner("worker", "--vhost", vhost, "--timeout", "60"),
        start_runner("worker", "--vhost", vhost, "--timeout", "60"),
    )
    for worker in workers:  # printed once the server has registered the consumer
        worker.wait_for(" [*] Waiting for messages")
    return workers


def test_fair_dispatch_busy_worker_gets_no_new_task(
    tut_env: dict[str, str], tutorial_vhost: str, start_runner: Callable[..., Runner]
) -> None:
    a, b = _start_two_workers(start_runner, tutorial_vhost)
    long_task = "long........"  # eight seconds: time enough to publish the short ones on a loaded machine
    sent = tutorial(tut_env, "run", "new_task", long_task, "--vhost", tutorial_vhost)
    assert sent.stdout == f" [x] Sent {long_task!r}\n", sent.stderr
    wait_until(lambda: any(long_task in line for line in a.lines + b.lines), what="the long task taken")
    busy, free = (a, b) if any(long_task in line for line in a.lines) else (b, a)
    publishers = [
        subprocess.Popen([*TUTORIAL, "run", "new_task", name, "--vhost", tutorial_vhost], env=tut_env)
        for name in ("s1", "s2", "s3")
    ]
    assert [p.wait(60) for p in publishers] == [0, 0, 0]
    wait_until(lambda: free.lines.count(" [x] Done") == 3, what="three short tasks done")
    # Prefetch 1: while the long task is unacknowledged, every short task went to the other worker.
    assert busy.received() == [f" [x] Received {long_task!r}"], "the busy worker finished too early to tell"
    assert sorted(line for line in free.received() if "Received" in line) == [
        " [x] Received 's1'",
        " [x] Received 's2'",
        " [x] Received 's3'",
    ]
    busy.wait_for(" [x] Done", timeout=20)
    assert (busy.interrupt(), free.interrupt()) == (0, 0)
    assert busy.received() == [f" [x] Received {long_task!r}", " [x] Done"]
    assert _one_at_a_time(busy) and _one_at_a_time(free)


def test_task_of_a_killed_worker_is_redelivered_to_the_other(
    tut_env: dict[str, str], tutorial_vhost: str, start_runner: Callable[..., Runner]
) -> None:
    a, b = _start_two_workers(start_runner, tutorial_vhost)
    assert tutorial(tut_env, "run", "new_task", "doomed.....", "--vhost", tutorial_vhost).returncode == 0
    wait_until(lambda: any("'doomed.....'" in line for line in a.lines + b.lines), what="the task taken")
    victim, survivor = (a, b) if any("'doomed.....'" in line for line in a.lines) else (b, a)
    victim.process.send_signal(signal.SIGKILL)  # dies in the middle of its five seconds of work
    assert victim.finish() == -signal.SIGKILL
    assert " [x] Done" not in victim.lines
    survivor.wait_for(" [x] Done", timeout=30)
    assert survivor.received() == [" [x] Received 'doomed.....'", " [x] Done"]
    assert survivor.interrupt() == 0
    # Acknowledged once, by the survivor: nothing is left for anyone else.
    after = tutorial(tut_env, "run", "worker", "--vhost", tutorial_vhost, "--timeout", "1")
    assert "Received" not in after.stdout


@pytest.fixture
def own_node(tmp_path: Path, rabbitmq_version: str) -> Iterator[Sandbox]:
    """A node of this test's own (of the session's version): it gets restarted, which the session node must not be."""
    box = Sandbox(tmp_path / "node", rabbitmq=rabbitmq_version)
    box.start()
    try:
        yield box
    finally:
        box.stop()


def test_persistent_tasks_survive_a_node_restart(own_node: Sandbox) -> None:
    info = own_node.start()  # idempotent: the running node's details
    env = base_env(
        {
            "RABBITADMIN_URL": info.url,
            "RABBITADMIN_USER": info.user,
            "RABBITADMIN_PASSWORD_FILE": str(info.password_file),
            "RABBITADMIN_AMQP_PORT": str(info.amqp_port),
            "MYUSER_PASSWORD": TUTORIAL_PASSWORD,
        }
    )
    provision(env, "work-queues", "myproject")
    tasks = ["first.", "second", "third"]
    for task in tasks:
        done = tutorial(env, "run", "new_task", task)
        assert done.returncode == 0, done.stderr

    own_node.restart()

    worker = tutorial(env, "run", "worker", "--count", "3", "--timeout", "20", timeout=90)
    assert worker.returncode == 0, worker.stderr
    assert [line for line in worker.stdout.splitlines() if "Received" in line] == [
        f" [x] Received {task!r}" for task in tasks
    ]
    again = tutorial(env, "run", "worker", "--timeout", "1")
    assert again.stdout.splitlines() == [" [*] Waiting for messages. To exit press CTRL+C"]
