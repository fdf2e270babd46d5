-- The HTTP gateway's per-actor API keys, stored hashed (sha256 of the whole key; the key is 256 random bits,
-- so a fast hash is enough: nobody can guess a preimage). The key itself is shown once, when created.
create table api_keys (
    key_id text primary key,              -- the public part of the key (wh_<key_id>_<secret>)
    key_hash text not null,               -- hex sha256 of the whole key
    role text not null,                   -- department, resident, first-secretary, ..., integrator, supervisor
    subject text not null,                -- the department code, resident id or person id the key acts as
    label text not null default '',
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);

-- Cases filed through the gateway: which key filed them and for which resident, and the Open311 extras
-- (media_url, account_id) the intake has no field for.
create table gateway_filings (
    complaint_id text primary key,
    key_id text not null references api_keys (key_id),
    resident_id text,
    account_id text,
    media_url text,
    filed_at timestamptz not null default now()
);
create index gateway_filings_resident on gateway_filings (resident_id) where resident_id is not null;
