"""sage_poller: polls each tenant's Sage 100 on its audit stamps and emits raw change events.

The public surface is what `__all__` lists: `admin` (poll status, sync requests, key functions as
operators' tools see them) and `CLIENT_ID` (its Kafka client id; it consumes no topic). The console
script `mlc-sage-poller` runs `sage_poller.main:run`. Every other module is private to the service.
"""

CLIENT_ID = "mlc-sage-poller"

__all__ = ["CLIENT_ID", "admin"]
