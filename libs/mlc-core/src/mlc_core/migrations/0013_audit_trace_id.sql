-- Trace ids on the audit log (issue #16): each event keeps the W3C trace id of the Kafka
-- delivery the audit service stored it from (the `traceparent` header; NULL when the message had
-- none or a malformed one), so an operator can go from a record's trail to its trace.
--
-- trace_id is not part of the hash chain (audit_event_digest is unchanged): it says how the event
-- travelled, not what happened. Like every column it is written once, at insert, and never
-- changed (audit_events refuses UPDATE): a redelivery of an event id (a producer retry, a
-- consumer's retried batch, a resumed replay run) is refused by the registry, so the stored
-- trace is the first delivery's. A replay publishes new events (new ids, a new trace each),
-- which the trail shows beside the original with their own trace ids.
-- mlc_audit's INSERT and mlc_operator's SELECT on audit_events are table-wide grants (0008), so
-- they cover the new column; audit_append gains a trace id array and keeps its grants.

ALTER TABLE audit_events ADD COLUMN trace_id text;

DROP FUNCTION audit_append(uuid[], text[], integer[], text[], text[], text[], uuid[], uuid[],
  timestamptz[], text[], integer[], bigint[], jsonb[]);

CREATE FUNCTION audit_append(
  p_event_id uuid[], p_event_type text[], p_schema_version integer[], p_tenant_id text[],
  p_entity text[], p_source_key text[], p_correlation_id uuid[], p_causation_id uuid[],
  p_occurred_at timestamptz[], p_topic text[], p_kafka_partition integer[],
  p_kafka_offset bigint[], p_payload jsonb[], p_trace_id text[]
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
    recorded_at, chain_seq, prev_hash, hash, trace_id)
  SELECT b.event_id, b.event_type, b.schema_version, b.tenant_id, b.entity, b.source_key,
         b.correlation_id, b.causation_id, b.occurred_at, b.topic, b.kafka_partition,
         b.kafka_offset, b.payload, now(), b.chain_seq, b.prev_hash, b.hash, b.trace_id
  FROM unnest(p_event_id, p_event_type, p_schema_version, p_tenant_id, p_entity, p_source_key,
              p_correlation_id, p_causation_id, p_occurred_at, p_topic, p_kafka_partition,
              p_kafka_offset, p_payload, seqs, prevs, hashes, p_trace_id)
       AS b(event_id, event_type, schema_version, tenant_id, entity, source_key, correlation_id,
            causation_id, occurred_at, topic, kafka_partition, kafka_offset, payload, chain_seq,
            prev_hash, hash, trace_id)
  WHERE b.chain_seq IS NOT NULL
  RETURNING audit_events.event_id;
END
$$;
REVOKE ALL ON FUNCTION audit_append(uuid[], text[], integer[], text[], text[], text[], uuid[],
  uuid[], timestamptz[], text[], integer[], bigint[], jsonb[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append(uuid[], text[], integer[], text[], text[], text[], uuid[],
  uuid[], timestamptz[], text[], integer[], bigint[], jsonb[], text[]) TO mlc_audit;
