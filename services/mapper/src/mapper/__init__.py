"""mapper: raw Sage change events in, Zoho commands (or dead letters) out.

The public surface is what `__all__` lists: `admin` (a tenant's stored mapping, mapping a row as
the service does, the Zoho modules and fields a mapping needs) and `GROUP_ID` (the Kafka consumer
group, which ACLs grant). The console script `mlc-mapper` runs `mapper.main:run`. Every other
module is private to the service.
"""

GROUP_ID = "mlc-mapper"

__all__ = ["GROUP_ID", "admin"]
