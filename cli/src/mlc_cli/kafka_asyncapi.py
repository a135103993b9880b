"""docs/asyncapi.yaml from the code: topics (contracts.Topics), message models (their pydantic
JSON schemas) and who sends or receives each (the ACL table in kafka_access).

`mlc kafka asyncapi > docs/asyncapi.yaml` regenerates it; a unit test fails when the checked-in
file differs from what the code generates.
"""

from __future__ import annotations

from typing import Any

import yaml
from mlc_core.contracts import (
    SCHEMA_VERSION,
    DeadLetter,
    Envelope,
    SagePollAttempt,
    SageRecordChanged,
    SageRecordDeleted,
    Topics,
    ZohoDeleteCommand,
    ZohoUpsertCommand,
    ZohoWriteOutcome,
)
from pydantic.json_schema import models_json_schema

from mlc_cli.kafka_access import SERVICES

MESSAGES: dict[Topics, tuple[type[Envelope], ...]] = {
    Topics.SAGE_CHANGES: (SageRecordChanged, SageRecordDeleted),
    Topics.SAGE_POLL_ATTEMPTS: (SagePollAttempt,),
    Topics.ZOHO_COMMANDS: (ZohoUpsertCommand, ZohoDeleteCommand),
    Topics.ZOHO_OUTCOMES: (ZohoWriteOutcome,),
    Topics.DEAD_LETTERS: (DeadLetter,),
}

TOPIC_TEXT = {
    Topics.SAGE_CHANGES: "Sage records as the poller read them (raw columns), and deletions.",
    Topics.SAGE_POLL_ATTEMPTS: "Failed and recovered polls of a tenant's entity.",
    Topics.ZOHO_COMMANDS: "What the mapper wants done in Zoho: upserts on external keys, deletes.",
    Topics.ZOHO_OUTCOMES: "Zoho's answer to each command: written, unchanged, failed.",
    Topics.DEAD_LETTERS: "Messages a stage could not handle, with the error naming the field.",
}

KEY_TEXT = (
    "UTF-8 `tenant|entity|source_key` for events about one record (its events stay in one "
    "partition, in order); the tenant id alone for events about no single record."
)
REF = "#/components/schemas/{model}"
BINDING = {"bindingVersion": "0.5.0"}


def _summary(model: type[Envelope]) -> str:
    return (model.__doc__ or model.__name__).strip().splitlines()[0]


def _message(model: type[Envelope]) -> dict[str, Any]:
    return {
        "name": model.model_fields["event_type"].default,
        "title": model.__name__,
        "summary": _summary(model),
        "contentType": "application/json",
        "payload": {"$ref": REF.format(model=model.__name__)},
        "bindings": {"kafka": {"key": {"type": "string", "description": KEY_TEXT}, **BINDING}},
    }


def _channels() -> dict[str, Any]:
    return {
        topic.value: {
            "address": topic.value,
            "description": TOPIC_TEXT[topic],
            "messages": {
                m.__name__: {"$ref": f"#/components/messages/{m.__name__}"} for m in models
            },
        }
        for topic, models in MESSAGES.items()
    }


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for principal in SERVICES:
        for action, topics in (("send", principal.writes), ("receive", principal.reads)):
            for topic in topics:
                operation: dict[str, Any] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{topic.value}"},
                    "summary": f"{principal.name} {action}s {topic.value}",
                    "messages": [
                        {"$ref": f"#/channels/{topic.value}/messages/{m.__name__}"}
                        for m in MESSAGES[topic]
                    ],
                }
                if action == "receive" and principal.group:
                    group = {"type": "string", "enum": [principal.group]}
                    operation["bindings"] = {"kafka": {"groupId": group, **BINDING}}
                operations[f"{principal.name}.{action}.{topic.value}"] = operation
    return operations


def document() -> dict[str, Any]:
    models = [m for ms in MESSAGES.values() for m in ms]
    _, schemas = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ml-connector events",
            "version": str(SCHEMA_VERSION),
            "description": (
                "Every Kafka topic and message of ml-connector, generated from "
                "libs/mlc-core/src/mlc_core/contracts.py by `mlc kafka asyncapi`; do not edit."
            ),
        },
        "defaultContentType": "application/json",
        "channels": _channels(),
        "operations": _operations(),
        "components": {
            "messages": {m.__name__: _message(m) for m in models},
            "schemas": schemas["$defs"],
        },
    }


def render() -> str:
    return yaml.safe_dump(document(), sort_keys=True, allow_unicode=True, width=100)
