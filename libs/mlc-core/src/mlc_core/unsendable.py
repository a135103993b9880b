"""Events Kafka cannot carry become small dead letters instead of poison.

Two kinds: text that cannot be encoded as UTF-8 (a lone UTF-16 surrogate such as a `\\udc9d`
escape in the agent's JSON), and a message bigger than Kafka's limit (one huge sales order or
UDF). Either, left as it is, fails the same send again and again: the poller's outbox never
empties, a consumer's partition never moves. Here such an event turns into a dead letter that
names tenant, entity, key and field and always fits: unencodable text is carried replaced by
U+FFFD with its exact code units kept base64 beside it; an oversized payload is not carried,
only its size, its largest field and its first bytes (flagged as truncated).
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from pydantic_core import to_json

from mlc_core.contracts import DeadLetter, Envelope, Topics, encode

UNSENDABLE_NAMESPACE = uuid.UUID("3b0f5d0e-8a1c-4e4b-a6f2-51a7c9d2e8b4")
UNENCODABLE_KEY = "_mlc_unencodable"  # path -> base64 of the text's code units (surrogatepass)
# Kafka's default limits: the producer's max.request.size is 1,048,576 bytes and the broker's
# message.max.bytes 1,048,588 for a whole record batch; headers (trace context), the key and
# the batch framing need some of that.
DEFAULT_MAX_MESSAGE_BYTES = 1_000_000
HEAD_BYTES = 2048  # of an oversized payload, kept in its dead letter to show what it was
MESSAGE_CHARS = 2000


def safe_text(value: str) -> str:
    """The text with every lone surrogate replaced by U+FFFD (it then encodes as UTF-8)."""
    if value.isascii():
        return value
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _code_units_b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8", "surrogatepass")).decode()


def _safe(value: Any, path: str, replaced: dict[str, str]) -> Any:
    if isinstance(value, str):
        if value.isascii() or _encodes(value):
            return value
        replaced[path or "."] = _code_units_b64(value)
        return safe_text(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = str(key)
            if not _encodes(name):
                replaced[f"{path}.{name}" if path else name] = _code_units_b64(name)
                name = safe_text(name)
            out[name] = _safe(item, f"{path}.{name}" if path else name, replaced)
        return out
    if isinstance(value, list):
        return [_safe(item, f"{path}[{i}]", replaced) for i, item in enumerate(value)]
    return value


def encodable(record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`record` in a form that encodes: unencodable texts replaced (safe_text), their exact
    code units kept base64 under UNENCODABLE_KEY by path. Also returns those paths."""
    replaced: dict[str, str] = {}
    safe = _safe(record, "", replaced)
    if replaced:
        safe[UNENCODABLE_KEY] = replaced
    return safe, sorted(replaced)


def sendable(
    topic: str, event: Envelope, *, limit: int = DEFAULT_MAX_MESSAGE_BYTES, stage: str = "publish"
) -> tuple[str, Envelope, bytes]:
    """(topic, event, encoded payload) to send: the event itself when Kafka can carry it,
    else a dead letter standing for it that can."""
    try:
        payload = encode(event)
    except ValueError:  # pydantic's serialization error: text that is not UTF-8
        letter = unencodable_letter(topic, event, stage=stage)
        payload = encode(letter)
        topic, event = Topics.DEAD_LETTERS, letter
    if len(payload) + len(event.kafka_key) <= limit:
        return topic, event, payload
    letter = oversized_letter(topic, event, payload, limit=limit, stage=stage)
    return Topics.DEAD_LETTERS, letter, encode(letter)


def _where(event: Envelope) -> str:
    entity, key = getattr(event, "entity", None), getattr(event, "source_key", None)
    key = safe_text(key) if isinstance(key, str) else key
    return f"tenant {safe_text(event.tenant_id)}, {entity or 'no entity'} {key or ''}".rstrip()


def _letter_fields(event: Envelope) -> dict[str, Any]:
    key = getattr(event, "source_key", None)
    return {
        "tenant_id": safe_text(event.tenant_id),
        "correlation_id": event.correlation_id,
        "causation_id": event.event_id,
        "entity": getattr(event, "entity", None),
        "source_key": safe_text(key) if isinstance(key, str) else None,
    }


def unencodable_letter(topic: str, event: Envelope, *, stage: str) -> DeadLetter:
    dumped = event.model_dump(mode="json")
    safe, paths = encodable(dumped)
    shown = ", ".join(paths)[:500]
    if isinstance(event, DeadLetter):  # a letter already: keep its own diagnosis, made safe
        return event.model_copy(update={**_letter_fields(event), **_safe_letter(safe)})
    return DeadLetter(
        event_id=uuid.uuid5(UNSENDABLE_NAMESPACE, f"unencodable|{event.event_id}"),
        **_letter_fields(event),
        stage=stage,
        error_class="UnencodableText",
        error_message=(
            f"{_where(event)}: {getattr(event, 'event_type', 'event')} holds text that is not "
            f"valid UTF-8 (a lone surrogate) in {shown}; carried replaced by U+FFFD, the exact "
            f"code units base64 under {UNENCODABLE_KEY}"
        )[:MESSAGE_CHARS],
        field=paths[0] if paths else None,
        original_topic=topic,
        original=safe,
    )


def _safe_letter(safe: dict[str, Any]) -> dict[str, Any]:
    """The updates that make a dead letter's own texts safe (dumped through `encodable`)."""
    update: dict[str, Any] = {
        name: safe[name] for name in ("error_message", "field", "original_topic") if name in safe
    }
    original = safe.get("original") or {}
    if UNENCODABLE_KEY in safe:
        original = {**original, UNENCODABLE_KEY: safe[UNENCODABLE_KEY]}
    update["original"] = original
    return update


def _largest_field(event: Envelope) -> tuple[str | None, int]:
    """The field (one level into a record or payload) whose encoding is largest."""
    best: tuple[str | None, int] = (None, 0)
    for name, value in event.model_dump(mode="json").items():
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for inner, item in items:
            size = len(to_json(item))
            if size > best[1]:
                best = (f"{name}.{inner}" if inner is not None else name, size)
    return best


def oversized_letter(
    topic: str, event: Envelope, payload: bytes, *, limit: int, stage: str
) -> DeadLetter:
    size = len(payload)
    original = {
        "truncated": True,
        "size_bytes": size,
        "event_type": getattr(event, "event_type", None),
        "head_b64": base64.b64encode(payload[:HEAD_BYTES]).decode(),
    }
    if isinstance(event, DeadLetter):  # a letter already: keep its diagnosis, drop the bulk
        note = f"; this dead letter was {size} bytes, over the {limit}-byte limit: original cut"
        return event.model_copy(
            update={
                "error_message": (event.error_message[: MESSAGE_CHARS - len(note)] + note),
                "original": original,
            }
        )
    field, field_size = _largest_field(event)
    return DeadLetter(
        event_id=uuid.uuid5(UNSENDABLE_NAMESPACE, f"oversized|{event.event_id}"),
        **_letter_fields(event),
        stage=stage,
        error_class="MessageTooLarge",
        error_message=(
            f"{_where(event)}: {original['event_type']} is {size} bytes encoded, over Kafka's "
            f"{limit}-byte limit (largest field {field}, {field_size} bytes); not sent, its "
            "first bytes kept in the dead letter"
        )[:MESSAGE_CHARS],
        field=field,
        original_topic=topic,
        original=original,
    )
