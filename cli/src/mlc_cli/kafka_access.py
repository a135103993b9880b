"""One Kafka principal per service, and the ACLs that allow exactly its topics and groups.

The same names serve SCRAM (the username) and mTLS (the certificate's CN, mapped to the bare
name by the broker's `ssl.principal.mapping.rules`). Only the audit service reads every topic;
no service writes a topic another stage owns (the writer cannot forge raw Sage events).
`mlc kafka acls` prints them as `kafka-acls.sh` lines; `--apply` grants them (as a principal
allowed to alter the cluster's ACLs), which deploy/local/kafka.sh does for its secure broker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest
from mlc_core.contracts import Topics
from mlc_core.lag import PIPELINE_GROUPS


@dataclass(frozen=True)
class Principal:
    name: str
    reads: tuple[Topics, ...] = ()
    writes: tuple[Topics, ...] = ()
    group: str | None = None  # its consumer group id
    # Consumer groups whose lag it reads (Describe on the group and its topic, nothing more):
    # the poller paces bulk pages by the backlog of the stages after it.
    watches: tuple[tuple[str, Topics], ...] = ()


SERVICES: tuple[Principal, ...] = (
    Principal(
        "mlc-sage-poller",
        writes=(Topics.SAGE_CHANGES, Topics.SAGE_POLL_ATTEMPTS, Topics.DEAD_LETTERS),
        watches=tuple(PIPELINE_GROUPS.items()),
    ),
    Principal(
        "mlc-mapper",
        reads=(Topics.SAGE_CHANGES,),
        writes=(Topics.ZOHO_COMMANDS, Topics.DEAD_LETTERS),
        group="mlc-mapper",
    ),
    Principal(
        "mlc-zoho-writer",
        reads=(Topics.ZOHO_COMMANDS,),
        writes=(Topics.ZOHO_OUTCOMES, Topics.DEAD_LETTERS),
        group="mlc-zoho-writer",
    ),
    Principal("mlc-audit", reads=tuple(Topics), group="mlc-audit"),
)

# The CLI's principal: provisions topics, moves consumer groups' offsets (`mlc replay`), and
# publishes replays onto the stage topics; never a broker super user.
OPERATOR = "mlc-operator"
TOPIC_PREFIX = "mlc."
GROUP_PREFIX = "mlc-"

PRINCIPALS: tuple[str, ...] = (*(p.name for p in SERVICES), OPERATOR)


# The Kafka protocol's codes (org.apache.kafka.common.resource / acl).
class Resource(IntEnum):
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Pattern(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    ALL = 2
    READ = 3
    WRITE = 4
    DESCRIBE = 8


ALLOW = 3


@dataclass(frozen=True)
class Acl:
    principal: str
    resource: Resource
    name: str
    operation: Operation
    pattern: Pattern = Pattern.LITERAL


def acls() -> list[Acl]:
    """Every grant: reads and describes of a service's input topics and its group, writes and
    describes of its output topics; the operator everything under the `mlc.`/`mlc-` prefixes."""
    grants: list[Acl] = []
    for p in SERVICES:
        for topic in p.reads:
            grants += [Acl(p.name, Resource.TOPIC, topic.value, op) for op in _READ]
        if p.group:
            grants += [Acl(p.name, Resource.GROUP, p.group, op) for op in _READ]
        for topic in p.writes:
            grants += [Acl(p.name, Resource.TOPIC, topic.value, op) for op in _WRITE]
        for group, topic in p.watches:
            grants += [
                Acl(p.name, Resource.GROUP, group, Operation.DESCRIBE),
                Acl(p.name, Resource.TOPIC, topic.value, Operation.DESCRIBE),
            ]
    prefixed = Pattern.PREFIXED
    return [
        *dict.fromkeys(grants),  # a topic both read and written is granted Describe once
        Acl(OPERATOR, Resource.TOPIC, TOPIC_PREFIX, Operation.ALL, prefixed),
        Acl(OPERATOR, Resource.GROUP, GROUP_PREFIX, Operation.ALL, prefixed),
        Acl(OPERATOR, Resource.CLUSTER, "kafka-cluster", Operation.DESCRIBE),
    ]


_READ = (Operation.READ, Operation.DESCRIBE)
_WRITE = (Operation.WRITE, Operation.DESCRIBE)


def acl_commands(acl_list: Iterable[Acl]) -> list[list[str]]:
    """The same grants as `kafka-acls.sh --add` arguments, one line each."""
    flag = {Resource.TOPIC: "--topic", Resource.GROUP: "--group", Resource.CLUSTER: "--cluster"}
    lines = []
    for acl in acl_list:
        resource = [flag[acl.resource]] + ([acl.name] if acl.resource != Resource.CLUSTER else [])
        pattern = ["--resource-pattern-type", "prefixed"] if acl.pattern == Pattern.PREFIXED else []
        lines.append(
            [
                "--add",
                "--allow-principal",
                f"User:{acl.principal}",
                "--operation",
                acl.operation.name.title(),
                *pattern,
                *resource,
            ]
        )
    return lines


async def grant(admin: AIOKafkaAdminClient, acl_list: Iterable[Acl]) -> None:
    """CreateAcls, one per grant (adding an existing ACL is a no-op, so this is re-runnable).
    aiokafka's admin client has the protocol message but no method for it yet."""
    for acl in acl_list:
        request = CreateAclsRequest(
            acl.resource, acl.name, acl.pattern, f"User:{acl.principal}", "*", acl.operation, ALLOW
        )
        response = await admin._send_request(request)
        for code, message in response.creation_responses:
            if code:
                raise for_code(code)(f"granting {acl}: {message}")
