"""`library send-mail --once` and `library worker` as a cron job or systemd sees them: real
processes, a real SMTP server on loopback, exit codes and the lines they print. The processes
use the real clock; nothing here waits for time to pass."""

from __future__ import annotations

import json

from app.cli import EXIT_SETTINGS, EXIT_UNREACHABLE
from app.models import Notice
from app.models.enums import NoticeStatus
from tests.processes import Process, library_env
from tests.smtp import SmtpServer
from tests.test_mail_delivery import hold_ready


async def run(*arguments: str, env: dict[str, str]) -> tuple[int, str]:
    """Run a `library` command to its end: exit code and output (stdout and stderr)."""
    process = Process.library(*arguments, env=env, name=arguments[0])
    try:
        return await process.exit_code(), process.output
    finally:
        process.cleanup()


def json_events(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


async def test_send_mail_once_exits_75_while_the_mail_server_is_unreachable_and_0_once_it_is_back(database, deps):
    server = SmtpServer()  # its port is closed for now
    for hold_id in (1, 2, 3):
        await hold_ready(deps, hold_id=hold_id, to=f"patron{hold_id}@example.jp")
    env = library_env(database, smtp_port=server.port)

    code, output = await run("send-mail", "--once", env=env)

    assert code == EXIT_UNREACHABLE == 75, output
    assert (f"sent 0, deferred 3, failed 0; mail server unreachable (cannot connect to 127.0.0.1:{server.port}: "
            in output)
    [event] = [e for e in json_events(output) if e["event"] == "mail_server_unreachable"]
    assert event["level"] == "warning" and event["failed_rounds"] == 1 and event["notices_put_back"] == 3
    assert "example.jp" not in output
    assert {(n.status, n.attempts) for n in await Notice.all()} == {(NoticeStatus.PENDING, 0)}

    server.start()
    try:
        # The outbox waits after a failed round: the next run does not knock, and says until when.
        code, output = await run("send-mail", "--once", env=env)
        assert code == EXIT_UNREACHABLE and "sent 0, deferred 3, failed 0;" in output
        assert "the outbox waits until 20" in output and server.handler.rcpt_count == 0
        # The operator fixed the relay and does not want to wait.
        code, output = await run("send-mail", "--once", "--now", env=env)
    finally:
        server.stop()

    assert code == 0, output
    assert "sent 3, deferred 0, failed 0" in output
    assert [e["event"] for e in json_events(output)].count("mail_server_back") == 1
    assert len(server.received) == 3
    assert {n.status for n in await Notice.all()} == {NoticeStatus.SENT}


async def test_settings_that_cannot_work_stop_the_commands_with_one_line(database):
    stuck = library_env(database, worker_lease_seconds=10, smtp_timeout_seconds=10)
    not_a_number = library_env(database, worker_lease_seconds="ten")

    worker_code, worker_output = await run("worker", env=stuck)
    send_code, send_output = await run("send-mail", "--once", env=not_a_number)

    assert (worker_code, send_code) == (EXIT_SETTINGS, EXIT_SETTINGS) == (78, 78)
    assert worker_output.strip().splitlines() == [
        "Not started: WORKER_LEASE_SECONDS (10) must be at least twice SMTP_TIMEOUT_SECONDS (10): "
        "a delivery round stops sending one SMTP timeout before its lease ends"]
    assert send_output.strip().splitlines() == [
        "Settings refused: WORKER_LEASE_SECONDS must be a whole number, not 'ten'"]
