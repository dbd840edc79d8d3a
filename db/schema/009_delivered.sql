-- 009_delivered: when the SUCCESS CertRep carrying a certificate was
-- handed to the client's connection (docs/protocol.md, Transactions).
-- scepd commits a certificate before it answers, so a process that dies
-- in between leaves one the client never got; delivered_at IS NULL shows
-- it (scepctl cert list --undelivered), a retransmission that gets it
-- sets it, and the sweep revokes what stays undelivered past
-- undelivered_hours.
--
-- On the certificate, not on the transaction: a delivery concerns one
-- certificate, whichever request carried it (the PKCSReq or RenewalReq
-- that issued it, its retransmission, the CertPoll of a held request,
-- certmonger's resend of a held request with a new CSR, which is a row
-- of its own), and what the sweep revokes and the operator lists is the
-- certificate.
--
-- Rows issued before this migration predate the mark: they count as
-- delivered when issued, so an upgrade revokes nothing.

ALTER TABLE scepd.certificates ADD COLUMN delivered_at timestamptz;
UPDATE scepd.certificates SET delivered_at = created_at;
-- The sweep and cert list --undelivered: few rows, if any.
CREATE INDEX certificates_undelivered_idx
    ON scepd.certificates (created_at)
    WHERE delivered_at IS NULL AND status <> 'revoked';

-- Revoke (cessationOfOperation: the client never had the certificate,
-- nothing replaces it) at most p_limit certificates issued more than
-- p_hours before p_at and never delivered, with an audit row each.
-- Returns their serials.  The caller serialises sweeps across processes.
CREATE FUNCTION scepd.sweep_undelivered(p_hours integer, p_at timestamptz,
    p_limit integer, p_actor text)
RETURNS SETOF text
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
	s	text;
BEGIN
	IF p_hours <= 0 THEN
		RETURN;
	END IF;
	FOR s IN SELECT serial FROM scepd.certificates
	    WHERE delivered_at IS NULL AND status <> 'revoked'
	    AND created_at < p_at - make_interval(hours => p_hours)
	    ORDER BY created_at, serial LIMIT p_limit FOR UPDATE SKIP LOCKED
	LOOP
		UPDATE scepd.certificates SET status = 'revoked',
		    revocation_reason = 5, revoked_at = now(),
		    held_by_device = false
		    WHERE serial = s;
		INSERT INTO scepd.audit (actor, action, object, detail)
		    VALUES (p_actor, 'revoke', s, 'not delivered within ' ||
		    p_hours || ' hours of issuance (reason 5 '
		    'cessationOfOperation)');
		RETURN NEXT s;
	END LOOP;
END
$$;
