-- 001_init: devices, issued certificates, SCEP transactions, audit.
--
-- Applied by db_migrate() in one transaction, after it has created the
-- schema scepd and scepd.schema_migrations itself.  Runs with an empty
-- search_path: qualify every object with scepd. (pg_catalog is implicit).
-- Never edit a released migration; add NNN_next.sql instead.

-- A managed device.  Its state drives its certificates (docs/revocation.md):
-- active and suspended -> valid, deactivated -> hold, deleted -> revoked.
CREATE TABLE scepd.devices (
	id		text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 256),
	state		text NOT NULL DEFAULT 'active' CHECK (state IN
			    ('active', 'suspended', 'deactivated', 'deleted')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- Every certificate scepd signed.  serial is upper-case hex without
-- leading zeros (db/ normalises on the way in and on lookup); serials are
-- random, so the primary key alone keeps them unique across CAs, and
-- UNIQUE (issuer, serial) is the belt RFC 5280 4.1.2.2 asks for.
CREATE TABLE scepd.certificates (
	serial		text NOT NULL,
	issuer		text NOT NULL,
	subject		text NOT NULL,
	sans		text NOT NULL DEFAULT '',
	not_before	timestamptz NOT NULL,
	not_after	timestamptz NOT NULL,
	der		bytea NOT NULL,
	key_sha256	bytea NOT NULL,
	transaction_id	text,
	profile		text,
	status		text NOT NULL DEFAULT 'valid',
	revocation_reason integer,	-- RFC 5280 5.3.1 CRLReason
	revoked_at	timestamptz,	-- when put on hold or revoked
	device_id	text REFERENCES scepd.devices (id),
	bound_at	timestamptz,
	last_used_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT certificates_pkey PRIMARY KEY (serial),
	CONSTRAINT certificates_issuer_serial_key UNIQUE (issuer, serial),
	CONSTRAINT certificates_serial_check
	    CHECK (serial ~ '^(0|[1-9A-F][0-9A-F]{0,39})$'),
	CONSTRAINT certificates_key_sha256_check
	    CHECK (length(key_sha256) = 32),
	CONSTRAINT certificates_validity_check
	    CHECK (not_before <= not_after),
	CONSTRAINT certificates_status_check
	    CHECK (status IN ('valid', 'hold', 'revoked')),
	-- 7 is unused in CRLReason.
	CONSTRAINT certificates_reason_check
	    CHECK (revocation_reason BETWEEN 0 AND 10 AND
	    revocation_reason <> 7),
	CONSTRAINT certificates_revoked_check
	    CHECK (status = 'valid' OR
	    (revoked_at IS NOT NULL AND revocation_reason IS NOT NULL)),
	-- certificateHold is the only reason a hold may carry.
	CONSTRAINT certificates_hold_check
	    CHECK (status <> 'hold' OR revocation_reason = 6),
	CONSTRAINT certificates_bound_check
	    CHECK ((device_id IS NULL) = (bound_at IS NULL))
);
-- db_cert_list: newest first.
CREATE INDEX certificates_created_at_idx
    ON scepd.certificates (created_at DESC, serial DESC);
CREATE INDEX certificates_transaction_id_idx
    ON scepd.certificates (transaction_id);
-- Renewal and revocation by key.
CREATE INDEX certificates_key_sha256_idx
    ON scepd.certificates (key_sha256);
CREATE INDEX certificates_device_id_idx
    ON scepd.certificates (device_id) WHERE device_id IS NOT NULL;
-- The CRL: every certificate on hold or revoked, not yet expired.
CREATE INDEX certificates_revoked_idx
    ON scepd.certificates (not_after) WHERE status <> 'valid';
-- The sweep of certificates never bound to a device (docs/revocation.md).
CREATE INDEX certificates_unbound_idx
    ON scepd.certificates (created_at)
    WHERE device_id IS NULL AND status = 'valid';

-- The outcome of each SCEP request, keyed by what identifies a repeated
-- request (RFC 8894 3.2.1.1 and 3.3.2): transactionID, signer key and
-- request hash.  A client's retry of a SUCCESS gets the same certificate.
CREATE TABLE scepd.transactions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	transaction_id	text NOT NULL,
	signer_key_sha256 bytea NOT NULL,
	request_sha256	bytea NOT NULL,
	message_type	integer NOT NULL,
	state		text NOT NULL,
	fail_info	integer,
	cert_serial	text REFERENCES scepd.certificates (serial),
	profile		text,
	peer		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	-- Also the index of db_enroll_begin()'s lookup by transaction_id.
	CONSTRAINT transactions_request_key
	    UNIQUE (transaction_id, signer_key_sha256, request_sha256),
	CONSTRAINT transactions_transaction_id_check
	    CHECK (length(transaction_id) BETWEEN 1 AND 1024),
	CONSTRAINT transactions_signer_key_sha256_check
	    CHECK (length(signer_key_sha256) = 32),
	CONSTRAINT transactions_request_sha256_check
	    CHECK (length(request_sha256) = 32),
	CONSTRAINT transactions_state_check
	    CHECK (state IN ('success', 'failure', 'pending')),
	CONSTRAINT transactions_success_check
	    CHECK ((state = 'success') = (cert_serial IS NOT NULL)),
	CONSTRAINT transactions_failure_check
	    CHECK ((state = 'failure') = (fail_info IS NOT NULL))
);
CREATE INDEX transactions_cert_serial_idx
    ON scepd.transactions (cert_serial) WHERE cert_serial IS NOT NULL;
CREATE INDEX transactions_pending_idx
    ON scepd.transactions (created_at) WHERE state = 'pending';

-- Who did what, when.  Append-only: written in the transaction of the
-- change it records, so it commits or rolls back with it.
CREATE TABLE scepd.audit (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	actor		text NOT NULL,
	action		text NOT NULL,
	object		text,
	detail		text
);
CREATE INDEX audit_at_idx ON scepd.audit (at);
CREATE INDEX audit_object_idx ON scepd.audit (object)
    WHERE object IS NOT NULL;

CREATE FUNCTION scepd.audit_append_only() RETURNS trigger
    LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
	RAISE EXCEPTION 'scepd.audit is append-only'
	    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON scepd.audit
    FOR EACH STATEMENT EXECUTE FUNCTION scepd.audit_append_only();
