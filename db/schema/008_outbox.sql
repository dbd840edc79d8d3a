-- 008_outbox: notifications to a profile's webhook (docs/webhook.md) as
-- rows written in the enrollment's own transaction, so a notification
-- exists exactly when its certificate (or refusal) was committed, and a
-- sender that runs apart from the request path delivers it later: it is
-- retried with a growing pause and never lost when scepd stops.
--
-- A sender claims due rows by pushing next_at forward (a lease): another
-- scepd process skips them meanwhile, and a sender that dies mid-send
-- leaves them to be claimed again when the lease ends.  Delivered rows
-- keep sent_at (for the operator; nothing deletes them here).

CREATE TABLE scepd.outbox (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	profile		text NOT NULL,
	kind		text NOT NULL,
	transaction_id	text NOT NULL,
	body		text NOT NULL,		-- the JSON document to send
	created_at	timestamptz NOT NULL DEFAULT now(),
	attempts	integer NOT NULL DEFAULT 0,
	next_at		timestamptz NOT NULL DEFAULT now(),
	last_error	text,
	sent_at		timestamptz,
	CONSTRAINT outbox_kind_check CHECK (kind IN ('issued', 'refused')),
	CONSTRAINT outbox_attempts_check CHECK (attempts >= 0)
);
CREATE INDEX outbox_due_idx ON scepd.outbox (next_at) WHERE sent_at IS NULL;
