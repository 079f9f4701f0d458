-- The key-value model every soebot owner of data uses (see package store):
-- named buckets of byte keys ordered byte-wise (bytea compares as memcmp).

-- +goose Up
CREATE TABLE soebot_buckets (
    name bytea  PRIMARY KEY,
    seq  bigint NOT NULL DEFAULT 0 CHECK (seq >= 0)
);

CREATE TABLE soebot_kv (
    bucket bytea NOT NULL REFERENCES soebot_buckets (name) ON DELETE CASCADE,
    k      bytea NOT NULL CHECK (length(k) > 0),
    v      bytea NOT NULL,
    PRIMARY KEY (bucket, k)
);

-- +goose Down
DROP TABLE soebot_kv;
DROP TABLE soebot_buckets;
