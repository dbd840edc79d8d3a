-- 011_key_use: the audit of key use (docs/keys.md).  The signer counts
-- what it did with each key, per purpose, since it started; each scepd
-- adds what its signer did since it last looked (server/key_use.c), so
-- the counts of every scepd sharing the database add up here.
--
-- key_id is the key as 007_ca_key.sql names CA keys: lower-case hex
-- SHA-256 of its SubjectPublicKeyInfo (for a CA key, its ca_key).
-- count: operations done; failures: refused or failed by the signer.

CREATE TABLE scepd.key_use (
	key_id		text NOT NULL CHECK (key_id ~ '^[0-9a-f]{64}$'),
	purpose		text NOT NULL
	    CHECK (purpose IN ('certificate', 'certrep', 'crl', 'ocsp',
	    'decrypt')),
	count		bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
	failures	bigint NOT NULL DEFAULT 0 CHECK (failures >= 0),
	updated_at	timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (key_id, purpose)
);

-- scepctl ca status counts a key's reservations by state.
CREATE INDEX serial_reservations_ca_key_idx
    ON scepd.serial_reservations (ca_key, state);
