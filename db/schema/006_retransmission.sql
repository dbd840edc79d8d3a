-- 006_retransmission: a request repeats an earlier one (RFC 8894 3.2.1.1:
-- a client that resends uses the same transactionID) only if
-- transactionID, messageType, signer certificate, signer key and request
-- all match a row recorded within the server's
-- retransmission_window_hours.  Clients that derive the transactionID
-- from the key (scepclient, certmonger) renew with the same key and
-- transactionID, scepclient even with the same CSR, but sign with the
-- issued certificate: that is a new row under the same transactionID, so
-- the one-row-per-(transactionID, key, request) constraint goes.
--
-- signer_cert_sha256 is the SHA-256 of the signer certificate when this
-- CA issued it, 32 zero octets for a self-signed one (it only carries the
-- key, and sscep makes a new one on every run), and NULL on rows recorded
-- before this migration, which db_enroll_begin() matches with any signer
-- certificate, as they were matched before.

ALTER TABLE scepd.transactions
    ADD COLUMN signer_cert_sha256 bytea,
    ADD CONSTRAINT transactions_signer_cert_sha256_check
	CHECK (signer_cert_sha256 IS NULL OR length(signer_cert_sha256) = 32),
    DROP CONSTRAINT transactions_request_key;
-- db_enroll_begin(), db_pending_get() and CertPoll look up by
-- transactionID (the dropped constraint's index served them).
CREATE INDEX transactions_transaction_id_idx
    ON scepd.transactions (transaction_id, created_at);
