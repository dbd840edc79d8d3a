-- 010_serial_reservation: every serial scepd signs is reserved, in a
-- transaction of its own committed before the signature, so that a
-- signature leaves a trace even when its certificate is never recorded
-- (docs/protocol.md, "Serial reservations").  The certificate's row and
-- its reservation's 'issued' are written in one transaction.
--
-- state: reserved  committed before the signature; the outcome is not
--                  known yet, or scepd stopped before it was
--        issued    the certificate is recorded (same transaction)
--        discarded signed, but its transaction rolled back: the
--                  certificate never left scepd
--        failed    the signature itself failed
--        abandoned the sweep found it still 'reserved' long after:
--                  scepd stopped between the signature and the commit
--
-- The serial is in scepd.certificates' normal form (upper-case hex, no
-- leading zeros; db/ normalises) and ca_key is the signing key's, as in
-- 007_ca_key.sql.

CREATE TABLE scepd.serial_reservations (
	serial		text PRIMARY KEY
	    CHECK (serial ~ '^(0|[1-9A-F][0-9A-F]{0,39})$'),
	ca_key		text,
	transaction_id	text,
	profile		text,
	state		text NOT NULL DEFAULT 'reserved'
	    CHECK (state IN ('reserved', 'issued', 'discarded', 'failed',
	    'abandoned')),
	reserved_at	timestamptz NOT NULL DEFAULT clock_timestamp(),
	resolved_at	timestamptz
);
-- The sweep looks at these only, scepctl cert list --unrecorded at the
-- second: few rows, if any.
CREATE INDEX serial_reservations_reserved_idx
    ON scepd.serial_reservations (reserved_at) WHERE state = 'reserved';
CREATE INDEX serial_reservations_unrecorded_idx
    ON scepd.serial_reservations (reserved_at) WHERE state <> 'issued';

-- Certificates recorded before this migration were issued: each gets its
-- reservation, so that every certificate has one in state 'issued'.
INSERT INTO scepd.serial_reservations (serial, ca_key, transaction_id,
    profile, state, reserved_at, resolved_at)
    SELECT serial, ca_key, transaction_id, profile, 'issued', created_at,
    created_at FROM scepd.certificates;

-- Abandon at most p_limit reservations still 'reserved' more than
-- p_minutes before p_at, with an audit row each.  Returns them.  The
-- caller serialises sweeps across processes.
CREATE FUNCTION scepd.sweep_reservations(p_minutes integer,
    p_at timestamptz, p_limit integer, p_actor text)
RETURNS TABLE (serial text, reserved_at timestamptz, transaction_id text,
    profile text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
	r	record;
BEGIN
	FOR r IN SELECT s.serial, s.reserved_at, s.transaction_id, s.profile
	    FROM scepd.serial_reservations s
	    WHERE s.state = 'reserved'
	    AND s.reserved_at < p_at - make_interval(mins => p_minutes)
	    ORDER BY s.reserved_at, s.serial LIMIT p_limit
	    FOR UPDATE SKIP LOCKED
	LOOP
		UPDATE scepd.serial_reservations s SET state = 'abandoned',
		    resolved_at = clock_timestamp()
		    WHERE s.serial = r.serial;
		INSERT INTO scepd.audit (actor, action, object, detail)
		    VALUES (p_actor, 'abandon', r.serial, 'serial reserved '
		    'for transaction ' || coalesce(r.transaction_id, '?') ||
		    ' never recorded: scepd stopped between the signature '
		    'and the commit');
		serial := r.serial;
		reserved_at := r.reserved_at;
		transaction_id := r.transaction_id;
		profile := r.profile;
		RETURN NEXT;
	END LOOP;
END
$$;
