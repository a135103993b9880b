"""audit: stores every event of every topic, once, in the append-only PostgreSQL log.

The public surface is what `__all__` lists: `admin` (what operators' tools may read of the log,
through mlc_ops) and `GROUP_ID` (the Kafka consumer group, which ACLs grant). The console script
`mlc-audit` runs `audit.main:run`. Every other module is private to the service.
"""

GROUP_ID = "mlc-audit"

__all__ = ["GROUP_ID", "admin"]
