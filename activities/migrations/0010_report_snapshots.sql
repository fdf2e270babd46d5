-- Dated snapshots of the rankings (红黑榜), written by the daily report workflow so rankings can be
-- compared over time. One row per Beijing day and grouping; a rerun on the same day replaces its row.
-- Not a projection of the events (each depends on when it was taken): a projections rebuild keeps it.
create table report_snapshots (
    day date not null,
    by text not null check (by in ('community', 'department', 'first_secretary')),
    generated_at timestamptz not null,
    report jsonb not null,
    primary key (day, by)
);
