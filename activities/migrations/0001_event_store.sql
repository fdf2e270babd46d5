-- The append-only event store and the current-case read model folded from it.

-- Every domain event of every case, in the order the workflow assigned (seq starts at 1).
-- (complaint_id, seq) is the idempotency key: a retried append inserts nothing twice.
create table events (
    complaint_id text not null,
    seq integer not null check (seq >= 1),
    type text not null,
    at timestamptz not null,
    payload jsonb not null,
    workflow_id text not null,
    run_id text not null,
    recorded_at timestamptz not null default now(),
    primary key (complaint_id, seq)
);

-- One row per case: the columns supervisors filter and sort on, and the whole folded state.
-- last_seq is the last event folded into state; appends must continue it without a gap.
create table complaints (
    complaint_id text primary key,
    community text not null,
    grid text not null,
    category text not null,
    urgency text not null,
    title text not null,
    stage text not null,
    escalation_level smallint not null,
    parked boolean not null,
    departments jsonb not null,
    lead text,
    next_deadline timestamptz,
    reopen_count integer not null,
    rating text,
    outcome text,
    filed_at timestamptz not null,
    updated_at timestamptz not null,
    closed_at timestamptz,
    last_seq integer not null,
    state jsonb not null
);

create index complaints_stage on complaints (stage);
create index complaints_community_stage on complaints (community, stage);
-- The overdue list: open cases by their earliest deadline (closed cases have none).
create index complaints_next_deadline on complaints (next_deadline) where next_deadline is not null;
