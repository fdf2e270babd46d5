-- Publication (公开): what the public may see of a case. publication_events is the append-only stream of
-- moderators' decisions (CasePublished, CaseUnpublished), one seq per case; publications is its current state,
-- the one table keyless reads (Open311 GETs, the public ledger) join: a case without a row is not public.
-- Neither holds personal data: the public text is the moderator's own.
create table publication_events (
    complaint_id text not null,
    seq integer not null check (seq >= 1),
    type text not null,
    at timestamptz not null,
    payload jsonb not null,
    primary key (complaint_id, seq)
);

create table publications (
    complaint_id text primary key,
    public_title text not null,
    public_description text not null,
    published_at timestamptz not null,
    published_by text not null
);
