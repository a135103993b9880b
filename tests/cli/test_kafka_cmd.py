"""`mlc kafka`: the topic plan, the ACL table against the services' code, the AsyncAPI document."""

from __future__ import annotations

import typing
from pathlib import Path

import audit
import mapper
import pytest
import zoho_writer
from mlc_cli.kafka_access import (
    OPERATOR,
    SERVICES,
    Acl,
    Operation,
    Pattern,
    Resource,
    acl_commands,
    acls,
)
from mlc_cli.kafka_asyncapi import MESSAGES, render
from mlc_cli.kafka_cmd import TopicState, plan_topic
from mlc_core.contracts import Event, Topics
from mlc_core.settings import TopicSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
WANTED = TopicSettings(partitions=6, replication_factor=3, min_insync_replicas=2)


def test_the_checked_in_asyncapi_document_is_what_the_code_generates() -> None:
    assert DOC.read_text() == render(), (
        "docs/asyncapi.yaml is stale: regenerate with `.venv/bin/mlc kafka asyncapi > "
        "docs/asyncapi.yaml`"
    )


def test_every_event_model_is_documented_on_a_topic() -> None:
    union = typing.get_args(typing.get_args(Event)[0])
    documented = {model for models in MESSAGES.values() for model in models}
    assert set(union) == documented
    assert set(MESSAGES) == set(Topics)


def test_consumer_groups_are_the_services_own() -> None:
    groups = {p.name: p.group for p in SERVICES}
    assert groups["mlc-mapper"] == mapper.GROUP_ID
    assert groups["mlc-zoho-writer"] == zoho_writer.GROUP_ID
    assert groups["mlc-audit"] == audit.GROUP_ID
    assert groups["mlc-sage-poller"] is None
    # The groups whose lag the poller paces by (mlc_core.lag) are the services' own too.
    watched = {group for p in SERVICES for group, _ in p.watches}
    assert watched == {mapper.GROUP_ID, zoho_writer.GROUP_ID}


def test_the_poller_may_describe_the_groups_it_paces_by_and_nothing_more() -> None:
    poller = {(a.resource, a.name, a.operation) for a in acls() if a.principal == "mlc-sage-poller"}
    for group in (mapper.GROUP_ID, zoho_writer.GROUP_ID):
        assert (Resource.GROUP, group, Operation.DESCRIBE) in poller
        assert (Resource.GROUP, group, Operation.READ) not in poller  # cannot move its offsets
    assert (Resource.TOPIC, Topics.ZOHO_COMMANDS.value, Operation.DESCRIBE) in poller
    assert (Resource.TOPIC, Topics.ZOHO_COMMANDS.value, Operation.READ) not in poller


def test_only_the_poller_writes_raw_sage_events_and_only_audit_reads_everything() -> None:
    writers = {p.name for p in SERVICES if Topics.SAGE_CHANGES in p.writes}
    assert writers == {"mlc-sage-poller"}
    everything = {p.name for p in SERVICES if set(p.reads) == set(Topics)}
    assert everything == {"mlc-audit"}
    # Every topic has a writer, and no topic is written by two stages except the dead letters.
    for topic in Topics:
        owners = [p.name for p in SERVICES if topic in p.writes]
        assert owners and (len(owners) == 1 or topic is Topics.DEAD_LETTERS), (topic, owners)


def test_service_grants_are_literal_and_the_writer_may_not_write_raw_events() -> None:
    grants = acls()
    for acl in grants:
        if acl.principal != OPERATOR:
            assert acl.pattern == Pattern.LITERAL and acl.operation != Operation.ALL, acl
    writer = {(a.name, a.operation) for a in grants if a.principal == "mlc-zoho-writer"}
    assert (Topics.SAGE_CHANGES.value, Operation.WRITE) not in writer
    assert (Topics.ZOHO_OUTCOMES.value, Operation.WRITE) in writer
    assert ("mlc-zoho-writer", Operation.READ) in writer  # its consumer group


def test_acl_lines_are_kafka_acls_arguments() -> None:
    lines = acl_commands([Acl("mlc-audit", Resource.GROUP, "mlc-audit", Operation.READ)])
    grant = ["--add", "--allow-principal", "User:mlc-audit", "--operation", "Read"]
    assert lines == [[*grant, "--group", "mlc-audit"]]


def test_missing_topic_is_created_with_the_wanted_shape() -> None:
    plan = plan_topic("t", None, WANTED)
    assert plan.changes == ("create: 6 partitions, replication 3, min.insync.replicas=2",)


def test_fewer_partitions_and_another_min_isr_are_changed() -> None:
    plan = plan_topic("t", TopicState(4, 3, 1), WANTED)
    assert plan.changes == ("partitions 4 -> 6", "min.insync.replicas 1 -> 2")
    assert plan.problems == ()


@pytest.mark.parametrize(
    ("current", "problem"),
    [
        (TopicState(8, 3, 2), "Kafka cannot remove partitions"),
        (TopicState(6, 1, 2), "replication factor 1, wanted 3"),
    ],
)
def test_what_apply_cannot_do_is_a_problem_not_a_change(current: TopicState, problem: str) -> None:
    plan = plan_topic("t", current, WANTED)
    assert plan.changes == ()
    assert any(problem in p for p in plan.problems)
