"""zoho_writer: applies Zoho commands to each tenant's org, within its limits, and publishes
the outcomes.

The public surface is what `__all__` lists: `admin` (tokens, holds, parked commands and credits as
operators' tools see them) and `GROUP_ID` (the Kafka consumer group, which ACLs grant). The console
script `mlc-zoho-writer` runs `zoho_writer.main:run`. Every other module is private to the service.
"""

GROUP_ID = "mlc-zoho-writer"

__all__ = ["GROUP_ID", "admin"]
