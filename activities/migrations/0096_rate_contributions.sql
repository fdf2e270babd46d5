-- The rates' figures per case (schemas/rates.py: contributions): one row to its community, one to its first
-- secretary, one to each department it summoned, holding what the case adds to that group's counts. A report sums
-- them per group in SQL instead of reading every case's state and events into Python (bench/read_model.py:
-- 100,000 cases). Rows are refreshed by the report itself for every case whose read-model row has moved on since
-- (last_seq differs) or has none yet, so the table needs no backfill and never leads the read model.
create table if not exists rate_contributions (
    complaint_id text not null,
    last_seq integer not null,
    filed_at timestamptz not null,
    grouping text not null check (grouping in ('community', 'first_secretary', 'department')),
    group_key text not null,
    name text not null,
    cases integer not null,
    merged integer not null,
    summoned integer not null,
    on_time integer not null,
    declined integer not null,
    closed integer not null,
    resolved integer not null,
    withdrawn integer not null,
    terminated integer not null,
    evaluations integer not null,
    satisfied integer not null,
    overdue integer not null,
    escalated integer not null,
    urged integer not null,
    followed_up integer not null,
    follow_up_unsolved integer not null,
    follow_up_missed integer not null,
    community_ratings integer not null,
    community_good integer not null,
    community_in_person integer not null
,
    primary key (complaint_id, grouping, group_key)
);
create index if not exists rate_contributions_report on rate_contributions (grouping, filed_at);
-- Reports run as whistle_reader too (the reporting login): it refreshes these derived, non-personal rows.
grant select, insert, update, delete on rate_contributions to whistle_reader;
