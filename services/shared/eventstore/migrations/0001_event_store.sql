-- The event store every service keeps in its own database.

CREATE TABLE es_events (
    -- Position in this store, in insertion order. Not commit order: concurrent transactions
    -- can commit a higher position before a lower one, so readers that walk "everything
    -- after position N" must use read_all's ordering (below), never this column alone.
    global_position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        UUID        NOT NULL UNIQUE,
    stream_id       TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL CHECK (stream_version > 0),
    event_type      TEXT        NOT NULL,
    -- Protobuf encoding of the message named by event_type.
    payload         BYTEA       NOT NULL,
    case_id         UUID,
    causation_id    UUID,
    -- W3C trace context of the request that caused the event; travels on to Kafka headers.
    traceparent     TEXT,
    occurred_at     TIMESTAMPTZ NOT NULL,
    -- The writing transaction. read_all returns only events of transactions older than every
    -- transaction still in flight, ordered by (transaction_id, global_position), so a reader
    -- can never step past an event that has yet to commit.
    transaction_id  XID8        NOT NULL DEFAULT pg_current_xact_id(),
    -- Optimistic concurrency: two writers appending the same version collide here.
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX es_events_commit_order ON es_events (transaction_id, global_position);
CREATE INDEX es_events_case ON es_events (case_id) WHERE case_id IS NOT NULL;

-- Transactional outbox: a row per event not yet acknowledged by the broker. Written in the
-- same transaction as the event; the relay deletes it once Kafka has acknowledged it.
CREATE TABLE es_outbox (
    global_position BIGINT      PRIMARY KEY REFERENCES es_events (global_position),
    topic           TEXT        NOT NULL,
    partition_key   TEXT        NOT NULL,
    enqueued_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Wakes the relay as soon as an outbox row commits (NOTIFY is delivered at commit).
CREATE FUNCTION es_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('es_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER es_outbox_notify AFTER INSERT ON es_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION es_outbox_notify();

-- Inbox: the events each consumer has applied. Written in the same transaction as the
-- consumer's effect, so a redelivered event is recognised and skipped.
CREATE TABLE es_inbox (
    consumer     TEXT        NOT NULL,
    event_id     UUID        NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer could not apply after retrying; kept for an operator, never dropped.
CREATE TABLE es_dead_letters (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer     TEXT        NOT NULL,
    topic        TEXT        NOT NULL,
    kafka_partition INT      NOT NULL,
    kafka_offset BIGINT      NOT NULL,
    event_id     UUID,
    event_type   TEXT,
    message      BYTEA,
    error        TEXT        NOT NULL,
    failed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (consumer, topic, kafka_partition, kafka_offset)
);
