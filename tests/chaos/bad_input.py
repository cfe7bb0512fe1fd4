"""Bad input: fuzzed records on every input topic, fuzzed webhook bodies over HTTP.

Records (`events`, spread over the declines, order-cancelled, settled-elsewhere and raw webhook
topics) are mutants of each contract's sample (`fuzz.Fuzzer`), kept only when the service's own
decoder (`Intake.parse`, the contract) refuses them, so each one must come out as a dead letter
with a reason; the scenario matches dead letters to records by (topic, partition, offset).
Webhook bodies (`bodies`) are mutants of a webhook, signed with the worker's HMAC key and sent with
its URL token (a few with a broken signature, a few too large); the answer must be the one the
decoder and the size limit call for (400, 401, 413 with a JSON `reason`; 200 for a mutant that
is still valid, which must then come out on the conflict topic: its payment is unknown).
About 5 % more records and 3 % of the bodies are valid but carry a card number in a free-text
field (holder name, cancel reason, failure message); they are processed normally.

Card numbers (`fuzz.PANS`) are planted everywhere in the bad input. Afterwards the worker is
stopped and its logs, its RocksDB tables and every topic it writes (dead letters, status,
conflicts, effects, order index, table changelogs) are searched for them (`leaks.scan`); so is
the raw webhook topic for the card numbers of the HTTP bodies. Figures: sent = records + bodies;
arrived = dead-lettered or refused with a reason; lost = neither; violations = worker exits or
tracebacks, wrong answers, card numbers found.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from schemas.dead_letter import DeadLetter
from schemas.errors import SchemaError
from schemas.paymend import PaymendWebhookEvent
from streams.pipeline.intake import BadInput, Intake
from streams.sandbox.webhooks import signature_header
from streams.settings import Secret
from streams.web.webhook import parse_event
from tests.chaos.fuzz import PANS, FieldPath, Fuzzer, samples
from tests.chaos.leaks import find_pans, output_topics, scan
from tests.chaos.payments import PIPELINE_SANDBOX_ENV, PIPELINE_WORKER_SETTINGS, timeout_for
from tests.chaos.result import Result
from tests.fixtures.pipeline import APPROVE
from tests.harness.system import System

__all__ = ["bad_input"]

TOKEN = "chaos-webhook-token"
HMAC_KEY = "chaos-webhook-hmac-key"
#: Card numbers planted in HTTP bodies (searched for in the raw webhook topic too); the others go
#: into topic records (the raw webhook topic is one of the inputs they are produced to).
HTTP_PANS = frozenset(PANS[-4:])
TOPIC_PANS = frozenset(PANS) - HTTP_PANS

_FREE_TEXT: dict[str, list[FieldPath]] = {
    "decline": [
        ("card", "holderName"),
        ("consumer", "firstName"),
        ("consumer", "lastName"),
        ("billing", "address", "street"),
        ("shipping", "firstName"),
        ("descriptor",),
    ],
    "cancel": [("reason",)],
    "settled": [("method",), ("provider",)],
    "webhook": [("payment", "failureMessage")],
}
_ID_FIELDS = ("paymentId", "merchantReference", "eventId", "orderId", "storeId")


@dataclass
class _Record:
    topic: str
    key: bytes | None
    value: bytes | None
    bad: bool
    coordinates: tuple[str, int, int] | None = None


class _Generator:
    """Bad records and bodies whose badness the service's decoder confirms (module doc)."""

    def __init__(self, system: System, fuzzer: Fuzzer, run: str) -> None:
        self.settings = system.settings
        self.fuzzer = fuzzer
        self.intake = Intake(system.settings)
        self.run = run
        self.samples = samples()
        s = system.settings
        self.topics = {
            "decline": s.topic_declines,
            "cancel": s.topic_order_cancelled,
            "settled": s.topic_settled_elsewhere,
            "webhook": s.topic_webhooks,
        }

    def base(self, kind: str, payment_id: str) -> dict[str, Any]:
        data = self.samples[kind]
        data = orjson.loads(orjson.dumps(data))  # a fresh copy
        if kind == "webhook":
            data["payment"]["merchantReference"] = payment_id
            data["eventId"] = f"evt-{payment_id}"
        else:
            data["paymentId"] = payment_id
            data["orderId"] = f"order-{payment_id}"
        return data

    def bad(self, kind: str, payment_id: str) -> _Record:
        topic = self.topics[kind]
        base = self.base(kind, payment_id)
        for _ in range(50):
            key, value = self.fuzzer.key(payment_id), self.fuzzer.value(base)
            if not self._valid(topic, key, value):
                return _Record(topic, key, value, bad=True)
        return _Record(topic, payment_id.encode(), b"{" + self.fuzzer.pan().encode(), bad=True)

    def valid_odd(self, kind: str, payment_id: str) -> _Record | None:
        base = self.base(kind, payment_id)
        if kind == "decline":
            base["card"]["number"] = APPROVE  # a card Paymend may see; the planted one must not
        value = orjson.dumps(self.fuzzer.valid_odd(base, _FREE_TEXT[kind]))
        topic = self.topics[kind]
        if not self._valid(topic, payment_id.encode(), value):
            return None
        return _Record(topic, payment_id.encode(), value, bad=False)

    def _valid(self, topic: str, key: bytes | None, value: bytes | None) -> bool:
        try:
            self.intake.parse(topic, key, value)
        except BadInput:
            return False
        return True


@dataclass
class _Body:
    body: bytes
    expected: int
    reference: str | None  # the merchantReference of a body expected to be accepted
    signed: bool = True


def _webhook_body(fuzzer: Fuzzer, base: dict[str, Any], max_bytes: int) -> _Body:
    """One fuzzed body and the answer it must get; never a valid body with a card number in an ID."""
    roll = fuzzer.rng.random()
    if roll < 0.03:
        return _Body(b"[" + b" " * max_bytes + fuzzer.pan().encode() + b"]", 413, None)
    if roll < 0.06:
        return _Body(orjson.dumps(base), 401, None, signed=False)
    if roll < 0.09:
        data = fuzzer.valid_odd(base, _FREE_TEXT["webhook"])
        return _Body(orjson.dumps(data), 200, data["payment"]["merchantReference"])
    for _ in range(50):
        body = fuzzer.body(base)
        if len(body) > max_bytes:
            return _Body(body, 413, None)
        try:
            event = parse_event(body, datetime.now(UTC))
        except SchemaError:
            return _Body(body, 400, None)
        if not find_pans(_identifiers(event).encode(), PANS):
            return _Body(body, 200, event.payment.merchant_reference)
    return _Body(b"{" + fuzzer.pan().encode(), 400, None)


def _identifiers(event: PaymendWebhookEvent) -> str:
    """The event's identifiers, codes and amount: carried as they are (an ID cannot be masked and
    still join, an amount is a number), so a valid mutant never gets a card number there (README,
    Reliability suite: only card data and free text are masked)."""
    payment = event.payment
    failure = payment.resolved_failure()
    codes = (failure.failure_code, failure.provider_failure_code) if failure else ()
    ids = (
        event.event_id,
        payment.merchant_reference,
        payment.paymend_payment_id,
        *codes,
        str(payment.amount),
    )
    return "\n".join(i or "" for i in ids)


def bad_input(run_dir: Path, *, events: int = 10_000, bodies: int = 1_000, seed: int | None = None) -> Result:
    result = Result("bad input (fuzz)")
    started = time.monotonic()
    seed = random.randrange(2**32) if seed is None else seed
    result.details["seed"] = seed
    fuzzer = Fuzzer(seed, TOPIC_PANS)
    body_fuzzer = Fuzzer(seed + 1, HTTP_PANS)
    run = uuid.UUID(int=fuzzer.rng.getrandbits(128)).hex[:6]
    settings = {
        **PIPELINE_WORKER_SETTINGS,
        "webhook_token": Secret(TOKEN),
        "webhook_hmac_secrets": Secret(HMAC_KEY),
    }
    sandbox_env = {
        **PIPELINE_SANDBOX_ENV,
        "SANDBOX_WEBHOOK_TOKEN": TOKEN,
        "SANDBOX_WEBHOOK_HMAC_SECRET": HMAC_KEY,
    }
    with System(run_dir, sandbox_env=sandbox_env, settings_overrides=settings) as system:
        worker = system.start_worker(log_level="INFO")  # more lines to search for card numbers
        generator = _Generator(system, fuzzer, run)
        kinds = list(generator.topics)
        records = [generator.bad(kinds[n % len(kinds)], f"fz-{run}-{n:06d}") for n in range(events)]
        controls = [
            generator.valid_odd(kinds[n % len(kinds)], f"fzok-{run}-{n:05d}")
            for n in range(max(4, events // 20))
        ]
        records += [c for c in controls if c is not None]
        fuzzer.rng.shuffle(records)
        _produce(system, records)
        base = generator.samples["webhook_body"]
        answers = _post_bodies(system, body_fuzzer, base, bodies, run, result)
        bad = [r for r in records if r.bad]
        accepted = {ref for ref in answers if ref is not None}
        webhook_controls = sum(1 for r in records if not r.bad and r.topic == system.settings.topic_webhooks)
        _await_dead_letters(system, bad, accepted, webhook_controls, result)
        result.sent = len(bad) + bodies
        result.details |= {
            "records": len(bad),
            "bodies": bodies,
            "valid records with a PAN in free text": len(records) - len(bad),
        }
        _check_worker(system, result)
        worker.stop()
        found = scan(
            system,
            TOPIC_PANS | HTTP_PANS,
            topics=output_topics(system),
            only={system.settings.topic_webhooks: HTTP_PANS},  # the endpoint writes HTTP bodies there
        )
        result.details["places with card numbers"] = len(found.found)
        for place, pans in sorted(found.found.items()):
            result.fail(f"card numbers in {place}: {sorted(pans)}; e.g. ...{found.examples[place]}...")
        result.details["records scanned"] = found.records
        result.details["table rows scanned"] = found.rows
    result.seconds = time.monotonic() - started
    return result


def _produce(system: System, records: list[_Record]) -> None:
    """Produce `records` in order, noting each one's (topic, partition, offset)."""
    producer = system.producer

    def delivered(record: _Record) -> Callable[[Any, Any], None]:
        def callback(err: Any, msg: Any) -> None:
            if err is None:
                record.coordinates = (msg.topic(), msg.partition(), msg.offset())

        return callback

    for record in records:
        while True:
            try:
                producer.produce(
                    record.topic, key=record.key, value=record.value, on_delivery=delivered(record)
                )
                break
            except BufferError:
                producer.poll(0.05)  # local queue full: let deliveries drain
        producer.poll(0)
    if producer.flush(60) != 0:
        raise RuntimeError("fuzzed records were not delivered")


def _post_bodies(
    system: System, fuzzer: Fuzzer, base: dict[str, Any], count: int, run: str, result: Result
) -> list[str | None]:
    """POST `count` fuzzed bodies; returns the merchantReference of each one accepted (200)."""
    worker = system.worker
    url = worker.url + system.settings.webhook_path
    accepted: list[str | None] = []
    refused = 0
    with httpx.Client(timeout=10.0) as client:
        for n in range(count):
            body_base = orjson.loads(orjson.dumps(base))
            body_base["payment"]["merchantReference"] = f"fzw-{run}-{n:05d}"
            body_base["eventId"] = f"evt-fzw-{run}-{n:05d}"
            case = _webhook_body(fuzzer, body_base, system.settings.webhook_max_body_bytes)
            headers = {"Content-Type": "application/json"}
            if case.signed:
                headers["Paymend-Signature"] = signature_header(HMAC_KEY, int(time.time()), case.body)
            response = client.post(url, content=case.body, params={"token": TOKEN}, headers=headers)
            if response.status_code != case.expected:
                got = f"{response.status_code} {response.text[:200]}"
                result.fail(f"body {n}: answered {got}, expected {case.expected}")
            elif response.status_code == 200:
                accepted.append(case.reference)
                continue
            else:
                with contextlib.suppress(ValueError):
                    if response.json().get("reason"):
                        refused += 1
                        continue
                result.fail(f"body {n}: {response.status_code} without a reason: {response.text[:200]}")
    result.details["bodies refused with a reason"] = refused
    result.details["bodies accepted (valid mutants)"] = len(accepted)
    result.arrived += refused
    return accepted


def _await_dead_letters(
    system: System, bad: list[_Record], accepted: set[str], webhook_controls: int, result: Result
) -> None:
    """Read dead letters and conflicts until every bad record and accepted body came out."""
    s = system.settings
    missing = {r.coordinates for r in bad}
    if None in missing:
        result.fail("a fuzzed record has no delivery report")
    unconflicted = set(accepted)
    extra_letters = conflicts = 0
    consumer = system.consumer([s.topic_dead_letters, s.topic_conflicts])
    deadline = time.monotonic() + timeout_for(len(bad))
    try:
        expected_conflicts = len(accepted) + webhook_controls
        while missing or unconflicted or conflicts < expected_conflicts:
            if time.monotonic() > deadline or not system.worker.alive:
                break
            for msg in consumer.consume(1000, 0.2):
                if msg.error():
                    continue
                letter = DeadLetter.decode(msg.value())
                if msg.topic() == s.topic_conflicts:
                    conflicts += 1
                    unconflicted.discard(msg.key().decode() if msg.key() else "")
                    continue
                where = (letter.source_topic, letter.partition, letter.offset)
                if where in missing:
                    missing.discard(where)
                    if not letter.reason:
                        result.fail(f"dead letter {where} has no reason")
                else:
                    extra_letters += 1
    finally:
        consumer.close()
    dead_lettered = len(bad) - len(missing)
    result.arrived += dead_lettered + len(accepted) - len(unconflicted)
    result.lost += len(missing) + len(unconflicted)
    for where in sorted(missing - {None}, key=str)[:5]:
        result.note_failure(f"record {where} was not dead-lettered")
    for reference in sorted(unconflicted)[:5]:
        result.note_failure(f"accepted webhook for {reference} came out nowhere")
    result.details["records dead-lettered"] = dead_lettered
    result.details["other dead letters"] = extra_letters
    result.details["conflicts"] = conflicts


def _check_worker(system: System, result: Result) -> None:
    worker = system.worker
    result.check(worker.alive, f"the worker exited:\n{worker.log_tail()}")
    log = worker.log.read_text(errors="replace")
    tracebacks = log.count("Traceback")
    result.details["tracebacks in the log"] = tracebacks
    result.check(tracebacks == 0, f"{tracebacks} tracebacks in the worker log")
    result.details["worker log lines"] = log.count("\n")
