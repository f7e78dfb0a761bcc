-- Operator audit (SPEC 7.4): one row per operator change, bulk or single: event retry and cancel,
-- subscriber add/update/remove/enable/disable, pauses and resumes, prunes by hand.
-- actor: the OS user for pubsubctl, "http <peer address>" for the HTTP API.
-- action: a dotted verb such as `events.retry`, `subscribers.pause`, `pools.resume`.
-- target: what it acted on, as the operator named it (ids, a subscriber, a job type, or the
-- filter as JSON). rows: how many rows the change touched (0 for a no-op; dry runs are not
-- recorded, except `events prune --dry-run`, with 0 and the count it would remove in detail).
CREATE TABLE IF NOT EXISTS {{schema}}.tpubsub_audit (
    audit_id  bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    action    text NOT NULL,
    target    text NOT NULL DEFAULT '',
    rows      bigint NOT NULL DEFAULT 0,
    detail    jsonb
);

CREATE INDEX IF NOT EXISTS tpubsub_audit_at_idx ON {{schema}}.tpubsub_audit (at DESC);
