-- 004_pending_renewal: manual approval (requests held PENDING until an
-- operator decides) and renewal (the certificate a renewal replaced).
--
-- A held request keeps what is needed to issue later without the client
-- resending it: the PKCS#10 request and the signer certificate the
-- SUCCESS envelope is encrypted to.  transactions.state stays 'pending'
-- after approval until the certificate is issued (state 'success' needs
-- cert_serial, 001's transactions_success_check); a rejection is state
-- 'failure' with failInfo badRequest (2).

ALTER TABLE scepd.transactions
    ADD COLUMN request_der	bytea,
    ADD COLUMN signer_der	bytea,
    ADD COLUMN request_subject	text,
    ADD COLUMN device_id	text,
    ADD COLUMN approval		text,
    ADD COLUMN decided_by	text,
    ADD COLUMN decided_at	timestamptz,
    ADD COLUMN reason		text;
ALTER TABLE scepd.transactions
    ADD CONSTRAINT transactions_approval_check
	CHECK (approval IN ('pending', 'approved', 'rejected')),
    -- Only a held request has an approval state, and it has its request.
    ADD CONSTRAINT transactions_held_check
	CHECK (approval IS NULL OR
	    (request_der IS NOT NULL AND signer_der IS NOT NULL)),
    -- Undecided means still pending.  (A rejected request the client
    -- sends again is judged afresh and may be held again.)
    ADD CONSTRAINT transactions_approval_state_check
	CHECK (approval IS DISTINCT FROM 'pending' OR state = 'pending'),
    -- A decision names who took it and when.
    ADD CONSTRAINT transactions_decided_check
	CHECK ((approval IN ('approved', 'rejected')) =
	    (decided_by IS NOT NULL AND decided_at IS NOT NULL) OR
	    approval IS NULL);
-- scepctl pending list and CertPoll look-ups by transactionID use
-- transactions_request_key (transaction_id first) and this one.
CREATE INDEX transactions_held_idx
    ON scepd.transactions (created_at) WHERE approval = 'pending';

-- Renewal: the new certificate that replaced this one, and when the old
-- one is to be revoked (reason superseded, 4) by the sweep.  A grace of 0
-- revokes at once, in the renewal's transaction.
ALTER TABLE scepd.certificates
    ADD COLUMN superseded_by	text REFERENCES scepd.certificates (serial),
    ADD COLUMN revoke_after	timestamptz;
ALTER TABLE scepd.certificates
    ADD CONSTRAINT certificates_superseded_check
	CHECK ((superseded_by IS NULL) = (revoke_after IS NULL)),
    ADD CONSTRAINT certificates_superseded_self_check
	CHECK (superseded_by IS DISTINCT FROM serial);
-- The sweep: superseded certificates not yet revoked, by due time.
CREATE INDEX certificates_supersede_due_idx
    ON scepd.certificates (revoke_after)
    WHERE superseded_by IS NOT NULL AND status <> 'revoked';
