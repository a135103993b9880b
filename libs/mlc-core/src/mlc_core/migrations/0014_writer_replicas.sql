-- Zoho writer replicas share each org's concurrency (zoho_writer/replicas.py): every replica
-- beats its row every few seconds; those seen within a bound are live, and each divides the
-- org's ceiling by their count. A replica that stops beating is forgotten after the bound.
CREATE TABLE writer_replicas (
  replica_id  text PRIMARY KEY,
  started_at  timestamptz NOT NULL DEFAULT now(),
  seen_at     timestamptz NOT NULL DEFAULT now(),
  -- the replica count this replica's calls in flight fit: a replica that joins makes no Zoho
  -- call before every other live one has shrunk to the new count and its extra calls ended
  settled_for integer NOT NULL DEFAULT 0
);

GRANT SELECT, INSERT, UPDATE, DELETE ON writer_replicas TO mlc_writer;
GRANT SELECT ON writer_replicas TO mlc_operator;
