-- Partner webhooks (issue 15, item 6): the endpoints a partner registers and the delivery log
-- of every message sent to them. `client_id` names a partner client (partner_clients, the
-- partners migration); its foreign key is added when both migrations are in.

CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    client_id uuid NOT NULL,
    -- Checked by the SSRF guard when registered, and again (resolved) before every attempt.
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- The event types the endpoint receives (`application.approved`, ...).
    event_types text[] NOT NULL,
    -- The signing secrets, sealed with the PII key: `[{"secret": "v1.<kid>...", "created_at",
    -- "expires_at"}]`, newest first; a rotated-out secret signs until its `expires_at`.
    secrets jsonb NOT NULL CHECK (jsonb_typeof(secrets) = 'array'),
    disabled_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL DEFAULT 1
);

CREATE INDEX webhook_endpoints_client_idx ON webhook_endpoints (client_id, created_at);

-- One row per message to one endpoint, updated at every attempt; the outbox row
-- (`partner.webhook`, payload `{"delivery_id"}`) carries the retries and the dead letter.
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    client_id uuid NOT NULL,
    -- `webhook-id`: the same on every attempt and on a redelivery.
    msg_id text NOT NULL UNIQUE,
    event_type text NOT NULL,
    -- The request body as sent (no resident ID or phone: the event payloads carry none).
    payload jsonb NOT NULL,
    attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    response_code integer,
    error text,
    duration_ms integer,
    outbox_id bigint,
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL
);

CREATE INDEX webhook_deliveries_client_idx ON webhook_deliveries (client_id, created_at DESC, id);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC);
