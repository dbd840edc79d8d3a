-- 003_challenges: one-time enrollment challenges and the bearer tokens of
-- the admin API that mint them.
--
-- Neither secret is stored.  A challenge is kept as HMAC-SHA-256 under the
-- server's challenge_key over profile || 0x00 || challenge, so a copy of
-- the database does not let anyone enroll, and a challenge minted for one
-- profile is unknown to every other.  A token is 256 random bits, so its
-- plain SHA-256 is enough.

-- A one-time challenge.  It is consumed by an UPDATE ... WHERE used_at IS
-- NULL AND expires_at > now() inside the enrollment transaction: exactly
-- once, also across scepd processes (docs/challenges.md).  Rows stay after
-- use so that a second use is recognised as a possible replay.
CREATE TABLE scepd.challenges (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	profile		text NOT NULL,
	mac		bytea NOT NULL,
	-- The binding: the device it was minted for, the subject and SANs
	-- the request must carry (policy/ compares them).
	device_id	text,
	subject		text,
	sans		text[],
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	text NOT NULL,
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	used_by		text,		-- the SCEP transactionID that used it
	CONSTRAINT challenges_mac_key UNIQUE (mac),
	CONSTRAINT challenges_mac_check CHECK (length(mac) = 32),
	CONSTRAINT challenges_profile_check
	    CHECK (length(profile) BETWEEN 1 AND 128),
	CONSTRAINT challenges_device_id_check
	    CHECK (length(device_id) BETWEEN 1 AND 256 AND
	    device_id !~ '[[:cntrl:]]'),
	CONSTRAINT challenges_subject_check
	    CHECK (length(subject) BETWEEN 1 AND 1024 AND
	    subject !~ '[[:cntrl:]]'),
	-- db/ reads the SANs back joined by newlines.
	CONSTRAINT challenges_sans_check
	    CHECK (pg_catalog.array_position(sans, NULL) IS NULL AND
	    pg_catalog.array_to_string(sans, '') !~ '[[:cntrl:]]'),
	CONSTRAINT challenges_expiry_check CHECK (expires_at > created_at),
	CONSTRAINT challenges_used_check
	    CHECK ((used_at IS NULL) = (used_by IS NULL))
);
-- A later purge of challenges that expired unused.
CREATE INDEX challenges_expires_at_idx
    ON scepd.challenges (expires_at) WHERE used_at IS NULL;

-- Bearer tokens of the admin API (and the user/password of mscep_admin).
-- A revoked token keeps its row and its name, so the audit trail stays
-- unambiguous.
CREATE TABLE scepd.api_tokens (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name		text NOT NULL,
	token_sha256	bytea NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	text NOT NULL,
	revoked_at	timestamptz,
	last_used_at	timestamptz,
	CONSTRAINT api_tokens_name_key UNIQUE (name),
	CONSTRAINT api_tokens_token_sha256_key UNIQUE (token_sha256),
	-- The name is the HTTP Basic user name: no colon, nothing odd.
	CONSTRAINT api_tokens_name_check
	    CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
	CONSTRAINT api_tokens_token_sha256_check
	    CHECK (length(token_sha256) = 32)
);
