"""No secret reaches a log line, an error message or a repr: a full run of secured connections
(logins that succeed and logins that fail) with every logger captured at DEBUG."""

from __future__ import annotations

import logging

import pytest
import structlog
from cassandra.cluster import NoHostAvailable
from conftest import SecureStack
from secure_clients import create_topic, round_trip
from structlog.testing import capture_logs
from test_secure_cassandra import connect, where
from test_secure_kafka import LEAKED_BY_REFUSED_LOGINS, start_producer

from repertory.config import load_settings
from repertory.errors import AuthenticationFailed
from repertory.observability import get_logger
from repertory.persistence.cassandra_security import auth_failure


@LEAKED_BY_REFUSED_LOGINS
async def test_secrets_never_reach_logs_errors_or_reprs(
    secure_stack: SecureStack,
    secure_topic_name: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    wrong = "wrong-password-that-must-not-leak"
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    with capture_logs() as structured:
        # Settings loaded the production way: a password from the environment, one from a file.
        password_file = tmp_path_factory.mktemp("secret") / "cassandra-password"
        password_file.write_text(secure_stack.cassandra_password + "\n")
        monkeypatch.setenv("REPERTORY_KAFKA_SECURITY__SECURITY_PROTOCOL", "SASL_SSL")
        monkeypatch.setenv("REPERTORY_KAFKA_SECURITY__USERNAME", "alice")
        monkeypatch.setenv("REPERTORY_KAFKA_SECURITY__PASSWORD", secure_stack.scram_password)
        monkeypatch.setenv("REPERTORY_CASSANDRA_SECURITY__USERNAME", "repertory_app")
        monkeypatch.setenv("REPERTORY_CASSANDRA_SECURITY__PASSWORD_FILE", str(password_file))
        settings = load_settings()
        log = get_logger("repertory.test")
        log.info("settings loaded", settings=settings.model_dump())
        texts += [repr(settings), str(settings), repr(secure_stack.stack.security)]

        for mechanism in ("SCRAM-SHA-512", "PLAIN"):
            security = secure_stack.kafka_security(mechanism)
            log.info("kafka security", security=security)
            topic = f"{secure_topic_name}-{mechanism.lower()}"
            await create_topic(secure_stack.kafka_bootstrap, security, topic)
            await round_trip(secure_stack.kafka_bootstrap, security, topic)
            with pytest.raises(AuthenticationFailed) as failed:
                await start_producer(
                    secure_stack.kafka_bootstrap,
                    secure_stack.kafka_security(mechanism, password=wrong),
                )
            log.error("kafka start failed", error=str(failed.value), exc_info=failed.value)
            texts.append(str(failed.value))

        cassandra = secure_stack.cassandra_security(password=None, password_file=password_file)
        cluster = connect(secure_stack, cassandra)
        cluster.connect().execute("SELECT release_version FROM system.local")
        cluster.shutdown()
        bad = secure_stack.cassandra_security(password=wrong)
        cluster = connect(secure_stack, bad)
        with pytest.raises(NoHostAvailable) as refused:
            cluster.connect()
        cluster.shutdown()
        error = auth_failure(refused.value, bad, where(secure_stack))
        log.error("cassandra connect failed", error=str(error), settings=bad)
        texts += [str(error), repr(bad), str(bad.model_dump())]

    texts += [caplog.text, *(r.getMessage() for r in caplog.records)]
    texts += [structlog.dev.ConsoleRenderer(colors=False)(None, "", dict(e)) for e in structured]
    assert len(caplog.records) > 20 and len(structured) >= 4  # the run was really logged
    for secret in (*secure_stack.secrets, wrong):
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"a secret leaked into {leaks[0][:300]!r}"
