-- 002_enrolled_device: a certificate's device_id is the device it was
-- enrolled for (from a one-time challenge's binding, the validator, or a
-- renewal), known at issuance; bound_at is set later, when a relying
-- party first confirms the certificate on that device.  001 tied the two
-- together; they are separate facts.
ALTER TABLE scepd.certificates DROP CONSTRAINT certificates_bound_check;
ALTER TABLE scepd.certificates ADD CONSTRAINT certificates_bound_check
    CHECK (bound_at IS NULL OR device_id IS NOT NULL);
