"""`mlc kafka topics [--apply]`, `mlc kafka acls` and `mlc kafka asyncapi`: the broker side the
services rely on, and the document of what flows through it.

Topics get their partitions, replication factor and `min.insync.replicas` from settings
(`MLC_KAFKA_PARTITIONS`, `MLC_KAFKA_REPLICATION_FACTOR`, `MLC_KAFKA_MIN_INSYNC_REPLICAS`);
services never create topics in production (`MLC_KAFKA_AUTO_CREATE_TOPICS` is off), so this
command runs once per environment and after each change of those settings. Without `--apply`
it only shows what it would change. It connects as the operator principal (the same
`MLC_KAFKA_*` security settings as every client).
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import for_code
from mlc_core.contracts import Topics
from mlc_core.kafka import create_admin
from mlc_core.settings import CommonSettings, TopicSettings

from mlc_cli.common import add_json_flag, emit, table
from mlc_cli.kafka_access import acl_commands, acls, grant
from mlc_cli.kafka_asyncapi import render

MIN_ISR = "min.insync.replicas"


@dataclass(frozen=True)
class TopicState:
    partitions: int
    replication_factor: int
    min_insync_replicas: int | None


@dataclass(frozen=True)
class TopicPlan:
    topic: str
    current: TopicState | None
    changes: tuple[str, ...]  # what --apply does, in words
    problems: tuple[str, ...]  # what it cannot do (needs a reassignment or a new topic)


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kafka = verbs.add_parser("kafka", help="Kafka topics and ACLs").add_subparsers(
        dest="action", required=True
    )
    topics = kafka.add_parser("topics", help="show (or --apply) the topics' shape from settings")
    topics.add_argument("--apply", action="store_true", help="create or change topics")
    add_json_flag(topics)
    topics.set_defaults(handler=topics_cmd)
    acls = kafka.add_parser("acls", help="every principal's ACLs as kafka-acls.sh lines")
    acls.add_argument(
        "--apply", action="store_true", help="grant them (connect as a principal that may)"
    )
    acls.set_defaults(handler=acls_cmd)
    kafka.add_parser(
        "asyncapi", help="print the AsyncAPI document of every topic (docs/asyncapi.yaml)"
    ).set_defaults(handler=asyncapi_cmd)


def plan_topic(topic: str, current: TopicState | None, wanted: TopicSettings) -> TopicPlan:
    """Pure: what it takes to bring one topic to the wanted shape."""
    if current is None:
        return TopicPlan(
            topic,
            None,
            (
                f"create: {wanted.partitions} partitions, replication "
                f"{wanted.replication_factor}, {MIN_ISR}={wanted.min_insync_replicas}",
            ),
            (),
        )
    changes: list[str] = []
    problems: list[str] = []
    if current.partitions < wanted.partitions:
        changes.append(f"partitions {current.partitions} -> {wanted.partitions}")
    elif current.partitions > wanted.partitions:
        problems.append(
            f"has {current.partitions} partitions, more than {wanted.partitions}: Kafka cannot "
            "remove partitions (raise MLC_KAFKA_PARTITIONS instead)"
        )
    if current.replication_factor != wanted.replication_factor:
        problems.append(
            f"replication factor {current.replication_factor}, wanted "
            f"{wanted.replication_factor}: change it with kafka-reassign-partitions.sh"
        )
    if current.min_insync_replicas != wanted.min_insync_replicas:
        changes.append(f"{MIN_ISR} {current.min_insync_replicas} -> {wanted.min_insync_replicas}")
    return TopicPlan(topic, current, tuple(changes), tuple(problems))


async def current_topics(admin: AIOKafkaAdminClient) -> dict[str, TopicState]:
    names = [t.value for t in Topics]
    existing = set(await admin.list_topics())
    present = [n for n in names if n in existing]
    if not present:
        return {}
    described = {t["topic"]: t for t in await admin.describe_topics(present)}
    isr = await _min_isr(admin, present)
    return {
        name: TopicState(
            partitions=len(described[name]["partitions"]),
            replication_factor=len(described[name]["partitions"][0]["replicas"]),
            min_insync_replicas=isr.get(name),
        )
        for name in present
    }


async def _min_isr(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, int]:
    resources = [ConfigResource(ConfigResourceType.TOPIC, t, {MIN_ISR: None}) for t in topics]
    found: dict[str, int] = {}
    for response in await admin.describe_configs(resources):
        resources = response.to_object()["resources"]
        _raise_errors((r["resource_name"], r["error_code"]) for r in resources)
        for resource in resources:
            for entry in resource["config_entries"]:
                if entry["config_names"] == MIN_ISR:
                    found[resource["resource_name"]] = int(entry["config_value"])
    return found


async def apply_plans(admin: AIOKafkaAdminClient, plans: list[TopicPlan], w: TopicSettings) -> None:
    create = [
        NewTopic(
            p.topic,
            num_partitions=w.partitions,
            replication_factor=w.replication_factor,
            topic_configs={MIN_ISR: str(w.min_insync_replicas)},
        )
        for p in plans
        if p.current is None
    ]
    if create:
        created = await admin.create_topics(create)
        _raise_errors((t[0], t[1]) for t in created.topic_errors)
    grow = {
        p.topic: NewPartitions(w.partitions)
        for p in plans
        if p.current is not None and p.current.partitions < w.partitions
    }
    if grow:
        await admin.create_partitions(grow)
    # AlterConfigs (not the incremental kind, which aiokafka lacks) replaces a topic's dynamic
    # configs as a whole: min.insync.replicas is the only one we set on our topics.
    isr = [
        ConfigResource(ConfigResourceType.TOPIC, p.topic, {MIN_ISR: str(w.min_insync_replicas)})
        for p in plans
        if p.current is not None and p.current.min_insync_replicas != w.min_insync_replicas
    ]
    if isr:
        for response in await admin.alter_configs(isr):
            _raise_errors((r[3], r[0]) for r in response.resources)


def _raise_errors(results: Iterable[tuple[str, int]]) -> None:
    """aiokafka returns per-topic error codes (an ACL refusal among them) instead of raising."""
    failed = [f"{name}: {for_code(code).__name__}" for name, code in results if code]
    if failed:
        raise SystemExit("mlc kafka: the broker refused " + ", ".join(failed))


async def topics_cmd(args: argparse.Namespace) -> None:
    bootstrap, wanted = CommonSettings().kafka_bootstrap, TopicSettings()
    admin = create_admin(bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        current = await current_topics(admin)
        plans = [plan_topic(t.value, current.get(t.value), wanted) for t in Topics]
        if args.apply:
            await apply_plans(admin, plans, wanted)
    finally:
        await admin.close()
    emit(args, [_as_json(p, applied=args.apply) for p in plans], _text)
    if any(p.problems for p in plans):
        raise SystemExit(1)


def _as_json(plan: TopicPlan, *, applied: bool) -> dict[str, Any]:
    return {**asdict(plan), "applied": applied and bool(plan.changes)}


def _text(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        if row["changes"]:
            verb = "done" if row["applied"] else "to do (--apply)"
            status = f"{verb}: {'; '.join(row['changes'])}"
        else:
            status = "ok"
        lines.append([row["topic"], status + "".join(f"; {p}" for p in row["problems"])])
    return table(lines, ["TOPIC", "STATE"])


async def acls_cmd(args: argparse.Namespace) -> None:
    bootstrap = CommonSettings().kafka_bootstrap
    if args.apply:
        admin = create_admin(bootstrap, request_timeout_ms=30_000)
        await admin.start()
        try:
            await grant(admin, acls())
        finally:
            await admin.close()
        print(f"granted {len(acls())} ACLs")
        return
    connect = ["kafka-acls.sh", "--bootstrap-server", bootstrap, "--command-config", "admin.conf"]
    for command in acl_commands(acls()):
        print(shlex.join([*connect, *command]))


async def asyncapi_cmd(args: argparse.Namespace) -> None:
    print(render(), end="")
