-- Tamper evidence for the audit log: each tenant's events form a hash chain (one chain per
-- tenant; events without a tenant form the chain ''). Event n of a chain stores its sequence
-- number, the hash of event n-1 (prev_hash; 32 zero bytes for the first) and
--   hash = sha256(prev_hash || audit_event_digest(the event's stored columns)).
-- Changing, removing or inserting an event breaks the chain at that point, which
-- `mlc audit verify` finds (services/audit/src/audit/chain.py) without trusting any trigger or
-- grant. The audit service appends through audit_append(): it registers the event ids, locks
-- each chain's head row (in chain order, so concurrent batches cannot deadlock), links the new
-- events in batch order and inserts them, all in the caller's transaction.
--
-- Events stored before this migration keep chain_seq NULL: verify counts them as unchained.

ALTER TABLE audit_events
  ADD COLUMN chain_seq bigint,
  ADD COLUMN prev_hash bytea,
  ADD COLUMN hash bytea;
CREATE INDEX audit_events_chain ON audit_events ((coalesce(tenant_id, '')), chain_seq);

CREATE TABLE audit_chain_heads (
  chain       text PRIMARY KEY,
  seq         bigint NOT NULL DEFAULT 0,
  hash        bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The canonical form of an event's content: its columns in a fixed order, comma-separated,
-- each text quoted by quote_nullable (so no value can pass for two), times as epoch seconds
-- with microseconds (no time zone or DateStyle setting changes them), and the payload last as
-- PostgreSQL prints jsonb (keys sorted, no insignificant whitespace). The same function hashes
-- an event when it is stored and when it is verified.
CREATE FUNCTION audit_event_digest(
  event_id uuid, event_type text, schema_version integer, tenant_id text, entity text,
  source_key text, correlation_id uuid, causation_id uuid, occurred_at timestamptz,
  recorded_at timestamptz, topic text, kafka_partition integer, kafka_offset bigint,
  payload jsonb
) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to(concat_ws(',',
    quote_nullable(event_id::text), quote_nullable(event_type), schema_version,
    quote_nullable(tenant_id), quote_nullable(entity), quote_nullable(source_key),
    quote_nullable(correlation_id::text), quote_nullable(causation_id::text),
    quote_nullable(extract(epoch FROM occurred_at)), quote_nullable(extract(epoch FROM recorded_at)),
    quote_nullable(topic), kafka_partition, kafka_offset, payload::text), 'UTF8'))
$$;

-- Stores a batch (arrays in batch order; event ids unique within it) and returns the ids new to
-- the log. SECURITY INVOKER: only a role that may insert audit rows (mlc_audit) can call it.
CREATE FUNCTION audit_append(
  p_event_id uuid[], p_event_type text[], p_schema_version integer[], p_tenant_id text[],
  p_entity text[], p_source_key text[], p_correlation_id uuid[], p_causation_id uuid[],
  p_occurred_at timestamptz[], p_topic text[], p_kafka_partition integer[],
  p_kafka_offset bigint[], p_payload jsonb[]
) RETURNS SETOF uuid LANGUAGE plpgsql AS $$
DECLARE
  n integer := coalesce(array_length(p_event_id, 1), 0);
  digests bytea[];
  seqs bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  prevs bytea[] := array_fill(NULL::bytea, ARRAY[n]);
  hashes bytea[] := array_fill(NULL::bytea, ARRAY[n]);
  fresh integer[];
  o integer;
  c text;
  cur text;
  s bigint;
  h bytea;
BEGIN
  WITH registered AS (
    INSERT INTO audit_event_ids (event_id, recorded_at)
    SELECT e, now() FROM unnest(p_event_id) AS e
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id
  )
  SELECT array_agg(u.ord ORDER BY u.ord) INTO fresh
  FROM unnest(p_event_id) WITH ORDINALITY AS u(event_id, ord) JOIN registered USING (event_id);
  IF fresh IS NULL THEN
    RETURN;
  END IF;

  SELECT array_agg(audit_event_digest(b.event_id, b.event_type, b.schema_version, b.tenant_id,
           b.entity, b.source_key, b.correlation_id, b.causation_id, b.occurred_at, now(),
           b.topic, b.kafka_partition, b.kafka_offset, b.payload) ORDER BY b.ord)
    INTO digests
  FROM unnest(p_event_id, p_event_type, p_schema_version, p_tenant_id, p_entity, p_source_key,
              p_correlation_id, p_causation_id, p_occurred_at, p_topic, p_kafka_partition,
              p_kafka_offset, p_payload) WITH ORDINALITY
       AS b(event_id, event_type, schema_version, tenant_id, entity, source_key, correlation_id,
            causation_id, occurred_at, topic, kafka_partition, kafka_offset, payload, ord);

  FOR o, c IN
    SELECT f, coalesce(p_tenant_id[f], '') FROM unnest(fresh) AS f ORDER BY 2, 1
  LOOP
    IF cur IS DISTINCT FROM c THEN
      IF cur IS NOT NULL THEN
        UPDATE audit_chain_heads SET seq = s, hash = h, updated_at = now() WHERE chain = cur;
      END IF;
      INSERT INTO audit_chain_heads (chain) VALUES (c) ON CONFLICT (chain) DO NOTHING;
      SELECT seq, hash INTO s, h FROM audit_chain_heads WHERE chain = c FOR UPDATE;
      cur := c;
    END IF;
    s := s + 1;
    seqs[o] := s;
    prevs[o] := h;
    h := sha256(h || digests[o]);
    hashes[o] := h;
  END LOOP;
  UPDATE audit_chain_heads SET seq = s, hash = h, updated_at = now() WHERE chain = cur;

  RETURN QUERY
  INSERT INTO audit_events (event_id, event_type, schema_version, tenant_id, entity, source_key,
    correlation_id, causation_id, occurred_at, topic, kafka_partition, kafka_offset, payload,
    recorded_at, chain_seq, prev_hash, hash)
  SELECT b.event_id, b.event_type, b.schema_version, b.tenant_id, b.entity, b.source_key,
         b.correlation_id, b.causation_id, b.occurred_at, b.topic, b.kafka_partition,
         b.kafka_offset, b.payload, now(), b.chain_seq, b.prev_hash, b.hash
  FROM unnest(p_event_id, p_event_type, p_schema_version, p_tenant_id, p_entity, p_source_key,
              p_correlation_id, p_causation_id, p_occurred_at, p_topic, p_kafka_partition,
              p_kafka_offset, p_payload, seqs, prevs, hashes)
       AS b(event_id, event_type, schema_version, tenant_id, entity, source_key, correlation_id,
            causation_id, occurred_at, topic, kafka_partition, kafka_offset, payload, chain_seq,
            prev_hash, hash)
  WHERE b.chain_seq IS NOT NULL
  RETURNING audit_events.event_id;
END
$$;
REVOKE ALL ON FUNCTION audit_append(uuid[], text[], integer[], text[], text[], text[], uuid[],
  uuid[], timestamptz[], text[], integer[], bigint[], jsonb[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append(uuid[], text[], integer[], text[], text[], text[], uuid[],
  uuid[], timestamptz[], text[], integer[], bigint[], jsonb[]) TO mlc_audit;

GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO mlc_audit;
GRANT SELECT ON audit_chain_heads TO mlc_operator;
