-- A lease on every claimed event: a worker that dies no longer leaves its events processing forever,
-- and only the claim that holds an event (its claim_token) may complete or fail it. A claim sets all
-- three columns; the next claim after lease_expires_at takes the event back (as a retry).

ALTER TABLE {{schema}}.event_ledger ADD COLUMN IF NOT EXISTS claimed_at timestamptz;
ALTER TABLE {{schema}}.event_ledger ADD COLUMN IF NOT EXISTS lease_expires_at timestamptz;
ALTER TABLE {{schema}}.event_ledger ADD COLUMN IF NOT EXISTS claim_token uuid;

-- Events already processing when this runs were claimed without a lease: give them the default
-- 5 minutes from now, after which a claim takes them back.
UPDATE {{schema}}.event_ledger
   SET claimed_at = coalesce(claimed_at, now()), lease_expires_at = now() + interval '5 minutes'
 WHERE status = 'processing' AND lease_expires_at IS NULL;

-- Expired leases are looked up by every claim: only processing rows, by expiry.
CREATE INDEX IF NOT EXISTS idx_event_ledger_lease_expires ON {{schema}}.event_ledger (lease_expires_at) WHERE status = 'processing';
