"""The worker's web server as Paymend and Kubernetes see it: a real `python -m streams worker`
process on a real broker, real HTTP.

Each test starts its own worker (unique APP_ID, fresh topics). The webhook answers 200 only once
the record is on the raw topic, refuses bad requests without writing, answers 503 (never 2xx)
while the broker stalls and 200 again after; /metrics, /live, /ready; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

import schemas
from streams.broker.client_config import confluent_config
from streams.broker.embedded import EmbeddedBroker, free_port
from streams.sandbox.webhooks import signature_header
from streams.settings import Secret, Settings
from tests.fixtures.broker import TopicFactory, consume
from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory, payment_request
from tests.fixtures.worker import WorkerFactory, WorkerProcess, worker_settings

pytestmark = pytest.mark.integration

TOKEN = "webhook-url-token"
OLD_KEY, NEW_KEY = "hmac-old-key", "hmac-new-key"


def webhook_body(reference: str, event_id: str | None = None, **payment: Any) -> bytes:
    return orjson.dumps(
        {
            "eventId": event_id or f"evt_{uuid.uuid4().hex[:16]}",
            "eventType": "PAYMENT_AUTHORIZED",
            "payment": {
                "paymentId": f"pm_{uuid.uuid4().hex[:12]}",
                "merchantReference": reference,
                "status": "AUTHORIZED",
                "amount": 4999,
                "currency": "EUR",
                "updatedAt": "2025-11-06T09:00:00Z",
                **payment,
            },
        }
    )


def post(
    client: httpx.Client,
    worker: WorkerProcess,
    body: bytes,
    *,
    token: str | None = TOKEN,
    key: str | None = NEW_KEY,
    timestamp: int | None = None,
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Paymend-Signature"] = signature_header(key, timestamp or int(time.time()), body)
    params = {"token": token} if token is not None else {}
    return client.post(worker.webhook_url, content=body, params=params, headers=headers)


@pytest.fixture
def secured(kafka_settings: Settings, topic_factory: TopicFactory, tmp_path: Path) -> Settings:
    """Settings with the URL token and two HMAC keys (a rotation in progress)."""
    return worker_settings(
        kafka_settings,
        topic_factory,
        tmp_path,
        webhook_token=Secret(TOKEN),
        webhook_hmac_secrets=Secret(f"{OLD_KEY},{NEW_KEY}"),
    )


@pytest.fixture
def worker(worker_factory: WorkerFactory, secured: Settings) -> WorkerProcess:
    return worker_factory(secured)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as http:
        yield http


def test_a_webhook_is_answered_200_once_it_is_on_the_raw_topic(
    worker: WorkerProcess, client: httpx.Client, kafka_config: dict[str, Any]
) -> None:
    body = webhook_body("ORDER-200", event_id="evt_first")
    response = post(client, worker, body, key=OLD_KEY)  # the old key of the rotation still works

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted", "eventId": "evt_first"}
    [record] = consume(kafka_config, worker.settings.topic_webhooks, 1)
    assert record.key == b"ORDER-200"
    event = schemas.PaymendWebhookEvent.decode(record.value)
    assert event.event_id == "evt_first"
    assert event.payment.merchant_reference == "ORDER-200"
    assert event.received_at.tzinfo is not None


def test_refused_webhooks_write_nothing(
    worker: WorkerProcess, client: httpx.Client, kafka_config: dict[str, Any]
) -> None:
    reference = "ORDER-REFUSED"  # one key: every write would land in one partition, in order
    body = webhook_body(reference)

    bad_token = post(client, worker, body, token="guessed")
    no_token = post(client, worker, body, token=None)
    bad_hmac = post(client, worker, body, key="not-our-key")
    no_hmac = post(client, worker, body, key=None)
    stale = post(client, worker, body, timestamp=int(time.time()) - 3600)
    malformed = post(client, worker, webhook_body(reference, payment_status_missing="x", status=None))
    not_json = post(client, worker, b"{this is not json")
    too_large = post(client, worker, b"x" * (worker.settings.webhook_max_body_bytes + 1))

    assert [r.status_code for r in (bad_token, no_token, bad_hmac, no_hmac, stale)] == [401] * 5
    assert [r.json()["reason"] for r in (bad_token, no_token, bad_hmac, no_hmac, stale)] == [
        "bad_token",
        "missing_token",
        "bad_signature",
        "missing_signature",
        "stale_signature",
    ]
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "invalid_body"
    assert "payment.status" in malformed.json()["detail"]
    assert not_json.status_code == 400
    assert "not UTF-8 JSON" in not_json.json()["detail"]
    assert too_large.status_code == 413

    marker = webhook_body(reference, event_id="evt_marker")
    assert post(client, worker, marker).status_code == 200
    records = consume(kafka_config, worker.settings.topic_webhooks, 1)
    # the marker is the first and only record: nothing refused before it was written
    assert [(r.key, r.offset) for r in records] == [(reference.encode(), 0)]
    assert schemas.PaymendWebhookEvent.decode(records[0].value).event_id == "evt_marker"


def test_metrics_live_and_ready(worker: WorkerProcess, client: httpx.Client) -> None:
    assert post(client, worker, webhook_body("ORDER-M")).status_code == 200
    assert post(client, worker, webhook_body("ORDER-M"), token="x").status_code == 401

    live = client.get(worker.url + "/live")
    ready = client.get(worker.url + "/ready")
    metrics = client.get(worker.url + "/metrics")

    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "reason": "ok"}
    assert metrics.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    faust_families = {name for name in families if name.startswith("faust_")}
    assert len(faust_families) >= 20, sorted(families)
    assert {"faust_messages_received", "faust_topic_messages_sent", "faust_http_status_codes"} <= set(
        faust_families
    )

    def value(family: str, **labels: str) -> float:
        return sum(
            s.value
            for s in families[family].samples
            if s.name.endswith("_total") and all(s.labels.get(k) == v for k, v in labels.items())
        )

    assert value("paymend_streams_webhooks_received") == 2
    assert value("paymend_streams_webhooks_written") == 1
    assert value("paymend_streams_webhooks_rejected", reason="auth") == 1


def test_webhook_answer_latency(worker: WorkerProcess, client: httpx.Client) -> None:
    for _ in range(10):  # warm up: connections, metadata
        assert post(client, worker, webhook_body("ORDER-WARM")).status_code == 200
    seconds = []
    for n in range(200):
        body = webhook_body(f"ORDER-LAT-{n % 50}")
        started = time.perf_counter()
        response = post(client, worker, body)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    cuts = statistics.quantiles(seconds, n=100)
    p50, p99 = cuts[49] * 1000, cuts[98] * 1000
    print(f"\nwebhook answer latency over 200 sequential requests: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    assert p99 < 500, f"p99 {p99:.0f} ms"  # a sanity bound, not a target (benchmarks measure speed)


async def test_the_sandbox_webhooks_land_on_the_raw_topic(
    worker: WorkerProcess, sandbox_factory: SandboxFactory, kafka_config: dict[str, Any]
) -> None:
    server = await sandbox_factory(
        webhook_url=worker.webhook_url, webhook_token=TOKEN, webhook_hmac_secret=NEW_KEY
    )
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=5.0) as sandbox:
        created = await sandbox.post("/v1/payments", json=payment_request(reference="ORDER-SBX"))
        assert created.status_code == 200, created.text
        payment_id = created.json()["paymentId"]
        assert (await sandbox.post(f"/v1/payments/{payment_id}/capture")).status_code == 200
    await server.sandbox.webhooks.drain(timeout_s=10.0)

    stats = server.stats()["webhooks"]
    assert stats["delivered"] == stats["emitted"] == 2
    assert stats["failed"] == stats["redeliveries"] == 0
    records = await asyncio.to_thread(consume, kafka_config, worker.settings.topic_webhooks, 2)
    events = [schemas.PaymendWebhookEvent.decode(r.value) for r in records]
    assert {r.key for r in records} == {b"ORDER-SBX"}
    assert [str(e.event_type) for e in events] == ["PAYMENT_AUTHORIZED", "PAYMENT_CAPTURED"]
    assert {e.payment.paymend_payment_id for e in events} == {payment_id}


def test_sigterm_stops_the_worker_cleanly(worker: WorkerProcess) -> None:
    started = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    code = worker.proc.wait(timeout=15)
    elapsed = time.monotonic() - started

    assert code == 0, worker.log_tail()
    assert elapsed < 10, f"took {elapsed:.1f} s"
    log = worker.log.read_text()
    assert "Traceback" not in log, worker.log_tail(80)
    assert "PaymendConnection]: Stopping" in log


def test_a_stalled_broker_gets_503_never_2xx_and_200_after_it_resumes(
    worker_factory: WorkerFactory, tmp_path: Path
) -> None:
    with EmbeddedBroker(log_file=tmp_path / "stalled-broker.log") as broker:
        settings = Settings(
            kafka_bootstrap=broker.bootstrap,
            kafka_embedded=True,
            topic_replication_factor=1,
            topic_partitions=2,
            app_id=f"test-stall-{uuid.uuid4().hex[:8]}",
            worker_web_host="127.0.0.1",
            worker_web_port=free_port(),
            worker_data_dir=str(tmp_path / "stall-data"),
            paymend_base_url="http://127.0.0.1:9",
            paymend_api_token=Secret("t"),
        )
        worker = worker_factory(settings)
        timeout = settings.webhook_write_timeout_s
        with httpx.Client(timeout=5.0) as client:
            assert post(client, worker, webhook_body("ORDER-S"), token=None, key=None).status_code == 200
            os.kill(broker.pid, signal.SIGSTOP)
            try:
                stalled = []
                for n in range(3):
                    started = time.perf_counter()
                    response = post(client, worker, webhook_body(f"ORDER-S{n}"), token=None, key=None)
                    stalled.append((response.status_code, time.perf_counter() - started))
            finally:
                os.kill(broker.pid, signal.SIGCONT)
            assert [code for code, _ in stalled] == [503] * 3, stalled
            assert all(seconds < timeout + 1.0 for _, seconds in stalled), stalled

            deadline = time.monotonic() + 20
            answers: list[int] = []
            while time.monotonic() < deadline:
                retried = post(client, worker, webhook_body("ORDER-S0"), token=None, key=None)
                answers.append(retried.status_code)
                if answers[-1] == 200:
                    break
            assert answers[-1] == 200, answers
            assert set(answers) <= {200, 503}
            print(f"\nstalled answers {stalled}; after SIGCONT {answers}")
        records = consume(confluent_config(settings), settings.topic_webhooks, 2)
        assert {r.key for r in records} >= {b"ORDER-S", b"ORDER-S0"}
        worker.stop()  # before its broker goes away
