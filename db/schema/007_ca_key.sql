-- 007_ca_key: a CA is its name and its key.  A re-keyed CA (a new key
-- under the same subject) keeps its name, so the certificates a key
-- signed, and the CRL state of each key, are told apart by ca_key: the
-- hex SHA-256 of the issuing CA certificate's SubjectPublicKeyInfo.
--
-- Certificates recorded before this migration have no ca_key (NULL):
-- they count for every key of their issuer's name until
-- `scepctl ca init --force` replaces that key and records it as theirs.

ALTER TABLE scepd.certificates ADD COLUMN ca_key text;
CREATE INDEX certificates_issuer_ca_key ON scepd.certificates (issuer, ca_key);

-- One CRL state per key of a CA.  The rows made before have ca_key ''
-- and are never served again (their signer is not known); they keep the
-- CRL numbers used so far under that name, which the next CRL of any key
-- of the name goes beyond (db/crl.c: RFC 5280 5.2.3, relying parties
-- compare the numbers of CRLs of one name).
ALTER TABLE scepd.crl_state ADD COLUMN ca_key text NOT NULL DEFAULT '';
ALTER TABLE scepd.crl_state DROP CONSTRAINT crl_state_pkey;
ALTER TABLE scepd.crl_state ADD PRIMARY KEY (issuer, ca_key);

CREATE OR REPLACE FUNCTION scepd.note_status_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
	IF NEW.ca_key IS NULL THEN
		-- On the CRL of every key of its name (see above).
		UPDATE scepd.crl_state SET changes = changes + 1
		    WHERE issuer = NEW.issuer;
	ELSE
		INSERT INTO scepd.crl_state (issuer, ca_key, changes)
		    VALUES (NEW.issuer, NEW.ca_key, 1)
		    ON CONFLICT (issuer, ca_key) DO UPDATE
		    SET changes = scepd.crl_state.changes + 1;
	END IF;
	RETURN NULL;
END
$$;
