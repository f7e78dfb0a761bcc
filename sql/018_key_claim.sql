-- Idempotency keys (SPEC 7.2): a cheaper claim for the write-behind's batches
-- (storage/idempotency_keys.h).
--
-- Keys compare byte for byte. A key is an opaque string, and a btree on text under a linguistic
-- collation compares with the locale's rules (ICU or strcoll), several times dearer per
-- comparison than memcmp; deterministic collations already decide equality byte-wise, so no two
-- keys become equal, or different, by this change. The index is rebuilt once, the table is not
-- rewritten (a collation change of text is binary-compatible).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
                WHERE a.attrelid = to_regclass('{{schema}}.tpubsub_idempotency_keys')
                  AND a.attname = 'idempotency_key' AND c.collname <> 'C') THEN
        ALTER TABLE {{schema}}.tpubsub_idempotency_keys
            ALTER COLUMN idempotency_key TYPE text COLLATE "C";
    END IF;
END $$;

-- The background removal of expired keys finds them by created_at. Keys are appended in
-- created_at order, so a BRIN index serves that scan at a fraction of a btree's cost per
-- claimed key (one summary per 128 pages, not one entry per key).
CREATE INDEX IF NOT EXISTS tpubsub_idempotency_keys_created_brin
    ON {{schema}}.tpubsub_idempotency_keys USING brin (created_at);
DROP INDEX IF EXISTS {{schema}}.tpubsub_idempotency_keys_created_idx;
