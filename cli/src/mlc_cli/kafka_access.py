"""One Kafka principal per service, and the ACLs that allow exactly its topics and groups.

The same names serve SCRAM (the username) and mTLS (the certificate's CN, mapped to the bare
name by the broker's `ssl.principal.mapping.rules`). Only the audit service reads every topic;
no service writes a topic another one owns (the writer cannot forge raw Sage events).
`mlc kafka acls` prints these as `kafka-acls.sh` command lines; deploy/local/kafka_secure.py
applies them to the local secure broker.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlc_core.contracts import Topics


@dataclass(frozen=True)
class Principal:
    name: str
    reads: tuple[Topics, ...] = ()
    writes: tuple[Topics, ...] = ()
    group: str | None = None  # its consumer group id


SERVICES: tuple[Principal, ...] = (
    Principal(
        "mlc-sage-poller",
        writes=(Topics.SAGE_CHANGES, Topics.SAGE_POLL_ATTEMPTS, Topics.DEAD_LETTERS),
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


def acl_commands(bootstrap: str, command_config: str) -> list[list[str]]:
    """`kafka-acls.sh` (org.apache.kafka.tools.AclCommand) argument lists, one per grant."""
    base = ["--bootstrap-server", bootstrap, "--command-config", command_config, "--add"]
    commands: list[list[str]] = []
    for p in SERVICES:
        user = ["--allow-principal", f"User:{p.name}"]
        if p.reads:
            topics = [arg for t in p.reads for arg in ("--topic", t.value)]
            group = ["--group", p.group] if p.group else []
            ops = ["--operation", "Read", "--operation", "Describe"]
            commands.append([*base, *user, *ops, *topics, *group])
        if p.writes:
            topics = [arg for t in p.writes for arg in ("--topic", t.value)]
            ops = ["--operation", "Write", "--operation", "Describe"]
            commands.append([*base, *user, *ops, *topics])
    operator = [*base, "--allow-principal", f"User:{OPERATOR}", "--operation", "All"]
    prefixed = ["--resource-pattern-type", "prefixed"]
    commands.append([*operator, *prefixed, "--topic", TOPIC_PREFIX, "--group", GROUP_PREFIX])
    commands.append(
        [*base, "--allow-principal", f"User:{OPERATOR}", "--operation", "Describe", "--cluster"]
    )
    return commands
