-- 005_lifecycle: the device lifecycle drives certificate status; relying
-- parties bind a certificate to the device they see it on; certificates
-- never bound are swept; every status change marks the issuer's CRL stale.
--
-- The rules live here, in functions, so that every scepd process and
-- scepctl apply them the same way, atomically, under row locks.
--
--   device state   certificates
--   active         valid (a hold the device put on is released)
--   suspended      valid, but the device is not managed
--   deactivated    on hold (certificateHold), reversible
--   deleted        revoked (cessationOfOperation), for good

-- A hold put on by the device lifecycle is released by it; a hold an
-- operator put on stays until the operator releases it.
ALTER TABLE scepd.certificates
    ADD COLUMN held_by_device boolean NOT NULL DEFAULT false,
    ADD COLUMN clone_device_id text,	-- the other device a clone was seen on
    ADD COLUMN clone_seen_at timestamptz;

-- One row per issuing CA: the CRL number (RFC 5280 5.2.3: monotonic), a
-- change counter bumped by every status change, and the last CRL.
CREATE TABLE scepd.crl_state (
	issuer		text PRIMARY KEY,
	crl_number	bigint NOT NULL DEFAULT 0,
	changes		bigint NOT NULL DEFAULT 0,
	generated_changes bigint NOT NULL DEFAULT -1,
	der		bytea,
	this_update	timestamptz,
	next_update	timestamptz
);

CREATE FUNCTION scepd.note_status_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
	INSERT INTO scepd.crl_state (issuer, changes) VALUES (NEW.issuer, 1)
	    ON CONFLICT (issuer) DO UPDATE
	    SET changes = scepd.crl_state.changes + 1;
	RETURN NULL;
END
$$;

CREATE TRIGGER certificates_status_changed
    AFTER UPDATE OF status ON scepd.certificates
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION scepd.note_status_change();

-- Change a device's state and its certificates with it.  Returns the
-- number of certificates whose status changed.  Errors: P0002 unknown
-- device, 22023 bad state, 55000 a deleted device cannot come back.
CREATE FUNCTION scepd.device_set_state(p_id text, p_state text, p_actor text)
RETURNS integer
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
	old_state	text;
	n		integer := 0;
BEGIN
	IF p_state NOT IN ('active', 'suspended', 'deactivated', 'deleted') THEN
		RAISE EXCEPTION 'unknown device state %', p_state
		    USING ERRCODE = '22023';
	END IF;
	SELECT state INTO old_state FROM scepd.devices WHERE id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no device %', p_id USING ERRCODE = 'P0002';
	END IF;
	IF old_state = 'deleted' AND p_state <> 'deleted' THEN
		RAISE EXCEPTION 'device % is deleted', p_id USING ERRCODE = '55000';
	END IF;
	UPDATE scepd.devices SET state = p_state, updated_at = now()
	    WHERE id = p_id;
	IF p_state IN ('active', 'suspended') THEN
		UPDATE scepd.certificates
		    SET status = 'valid', revocation_reason = NULL,
		    revoked_at = NULL, held_by_device = false
		    WHERE device_id = p_id AND status = 'hold' AND held_by_device;
		GET DIAGNOSTICS n = ROW_COUNT;
	ELSIF p_state = 'deactivated' THEN
		UPDATE scepd.certificates
		    SET status = 'hold', revocation_reason = 6, revoked_at = now(),
		    held_by_device = true
		    WHERE device_id = p_id AND status = 'valid';
		GET DIAGNOSTICS n = ROW_COUNT;
	ELSE
		UPDATE scepd.certificates
		    SET status = 'revoked', revocation_reason = 5,
		    revoked_at = now(), held_by_device = false
		    WHERE device_id = p_id AND status <> 'revoked';
		GET DIAGNOSTICS n = ROW_COUNT;
	END IF;
	INSERT INTO scepd.audit (actor, action, object, detail)
	    VALUES (p_actor, 'device-state', p_id,
	    old_state || ' -> ' || p_state || ', ' || n || ' certificate(s)');
	RETURN n;
END
$$;

-- Revoke, hold or release one certificate.  Returns 'changed' or
-- 'unchanged' (revoking twice is harmless).  Errors: P0002 unknown
-- serial, 55000 not possible (release or hold of a revoked certificate),
-- 22023 bad reason.
CREATE FUNCTION scepd.cert_set_status(p_serial text, p_action text,
    p_reason integer, p_actor text)
RETURNS text
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
	cur	text;
BEGIN
	SELECT status INTO cur FROM scepd.certificates WHERE serial = p_serial
	    FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no certificate %', p_serial USING ERRCODE = 'P0002';
	END IF;
	IF p_action = 'revoke' THEN
		IF p_reason IS NULL OR p_reason < 0 OR p_reason > 10 OR
		    p_reason IN (6, 7, 8) THEN
			RAISE EXCEPTION 'bad revocation reason %', p_reason
			    USING ERRCODE = '22023';
		END IF;
		IF cur = 'revoked' THEN
			RETURN 'unchanged';
		END IF;
		UPDATE scepd.certificates SET status = 'revoked',
		    revocation_reason = p_reason, revoked_at = now(),
		    held_by_device = false WHERE serial = p_serial;
	ELSIF p_action = 'hold' THEN
		IF cur = 'revoked' THEN
			RAISE EXCEPTION 'certificate % is revoked', p_serial
			    USING ERRCODE = '55000';
		END IF;
		IF cur = 'hold' THEN
			RETURN 'unchanged';
		END IF;
		UPDATE scepd.certificates SET status = 'hold',
		    revocation_reason = 6, revoked_at = now(),
		    held_by_device = false WHERE serial = p_serial;
	ELSIF p_action = 'release' THEN
		IF cur = 'revoked' THEN
			RAISE EXCEPTION 'certificate % is revoked for good', p_serial
			    USING ERRCODE = '55000';
		END IF;
		IF cur = 'valid' THEN
			RETURN 'unchanged';
		END IF;
		UPDATE scepd.certificates SET status = 'valid',
		    revocation_reason = NULL, revoked_at = NULL,
		    held_by_device = false WHERE serial = p_serial;
	ELSE
		RAISE EXCEPTION 'unknown action %', p_action USING ERRCODE = '22023';
	END IF;
	INSERT INTO scepd.audit (actor, action, object, detail)
	    VALUES (p_actor, p_action, p_serial,
	    CASE WHEN p_action = 'revoke' THEN 'reason ' || p_reason END);
	RETURN 'changed';
END
$$;

-- A relying party saw certificate p_serial on device p_device.  The first
-- sighting binds it (creating the device if needed); a sighting on another
-- device is a cloned credential: refused, recorded, and (p_revoke) the
-- certificate revoked with keyCompromise.  Every call records the use.
-- Returns one row: result new|same|clone, and the state it leaves.
-- Errors: P0002 unknown serial.
CREATE FUNCTION scepd.cert_bind(p_serial text, p_device text,
    p_revoke boolean, p_actor text)
RETURNS TABLE (result text, status text, device_id text, device_state text,
    bound_at timestamptz, last_used_at timestamptz)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
	c	scepd.certificates%ROWTYPE;
	res	text;
BEGIN
	SELECT * INTO c FROM scepd.certificates WHERE serial = p_serial
	    FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no certificate %', p_serial USING ERRCODE = 'P0002';
	END IF;
	IF c.device_id IS NULL OR (c.device_id = p_device AND c.bound_at IS NULL) THEN
		INSERT INTO scepd.devices (id) VALUES (p_device)
		    ON CONFLICT (id) DO NOTHING;
		UPDATE scepd.certificates AS t SET device_id = p_device,
		    bound_at = now(), last_used_at = now()
		    WHERE t.serial = p_serial;
		res := 'new';
		INSERT INTO scepd.audit (actor, action, object, detail)
		    VALUES (p_actor, 'bind', p_serial, p_device);
	ELSIF c.device_id = p_device THEN
		UPDATE scepd.certificates AS t SET last_used_at = now()
		    WHERE t.serial = p_serial;
		res := 'same';
	ELSE
		UPDATE scepd.certificates AS t SET last_used_at = now(),
		    clone_device_id = p_device, clone_seen_at = now()
		    WHERE t.serial = p_serial;
		res := 'clone';
		INSERT INTO scepd.audit (actor, action, object, detail)
		    VALUES (p_actor, 'clone', p_serial, 'bound to ' ||
		    c.device_id || ', seen on ' || p_device);
		IF p_revoke AND c.status <> 'revoked' THEN
			PERFORM scepd.cert_set_status(p_serial, 'revoke', 1, p_actor);
		END IF;
	END IF;
	RETURN QUERY SELECT res, t.status, t.device_id, d.state, t.bound_at,
	    t.last_used_at FROM scepd.certificates t
	    LEFT JOIN scepd.devices d ON d.id = t.device_id
	    WHERE t.serial = p_serial;
END
$$;

-- Revoke (privilegeWithdrawn) the valid certificates of profile p_profile
-- that were never bound to a device within p_days of issuance, as of
-- p_at.  Returns how many.  The caller serialises sweeps across processes.
CREATE FUNCTION scepd.sweep_unused(p_profile text, p_days integer,
    p_at timestamptz, p_actor text)
RETURNS integer
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
	n	integer := 0;
	s	text;
BEGIN
	IF p_days <= 0 THEN
		RETURN 0;
	END IF;
	FOR s IN SELECT serial FROM scepd.certificates
	    WHERE profile IS NOT DISTINCT FROM p_profile AND status = 'valid'
	    AND bound_at IS NULL
	    AND created_at < p_at - make_interval(days => p_days)
	    ORDER BY serial FOR UPDATE SKIP LOCKED
	LOOP
		UPDATE scepd.certificates SET status = 'revoked',
		    revocation_reason = 9, revoked_at = now()
		    WHERE serial = s;
		INSERT INTO scepd.audit (actor, action, object, detail)
		    VALUES (p_actor, 'revoke', s, 'unused for ' || p_days ||
		    ' days after issuance (reason 9 privilegeWithdrawn)');
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
