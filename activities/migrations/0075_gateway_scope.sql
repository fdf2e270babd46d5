-- Whose cases a hotline operator or an integrator reaches: the organisation their key belongs to (the 12345
-- hotline, the resident app). A case filed through the gateway belongs to the organisation of the key that filed
-- it (gateway_filings.key_id); operators act, and integrators read, only within their own organisation.
-- Keys made before this migration belong to an organisation of their own (their subject).
alter table api_keys add column organisation text;
update api_keys set organisation = subject where role in ('operator', 'integrator');

-- A create retried with the same Idempotency-Key (an answer lost on the way) files one case: the first attempt's
-- complaint id is kept per key, beside the digest of the request (the filing registry's, which leaves the time
-- out), so a different request under a reused key is refused rather than answered with another case.
create table gateway_idempotency (
    key_id text not null references api_keys (key_id),
    idempotency_key text not null,
    request_digest text not null,
    complaint_id text not null,
    created_at timestamptz not null default now(),
    primary key (key_id, idempotency_key)
);

-- An organisation's cases (its operators act on them, its integrators list them): filings by key, keys by
-- organisation.
create index gateway_filings_key on gateway_filings (key_id);
create index api_keys_organisation on api_keys (organisation) where organisation is not null;
