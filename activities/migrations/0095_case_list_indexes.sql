-- Lists come from the read model (whistle/case_list.py): newest filing first, paged by (filed_at, complaint_id).
-- One index per filter, each in the list's order, so a filtered page reads its rows in order and stops at the
-- limit instead of sorting every match; the unfiltered list (a supervisor's) walks the first index.

-- What "overdue" and a listed case's deadline mean (CaseState.watched_deadline): the earliest deadline already
-- missed on a clock that still stands, else the next one. Until `whistle projections rebuild` refolds the older
-- rows, they carry their next deadline, which is what they showed before a clock lapsed.
alter table complaints add column if not exists watched_deadline timestamptz;
update complaints set watched_deadline = next_deadline where watched_deadline is null;
create index if not exists complaints_watched_deadline on complaints (watched_deadline)
    where watched_deadline is not null;

-- Under leader supervision, and merged into another case: columns of their own (written with the row), so no
-- index depends on `state`, which every event changes (an index over it would keep any update from being HOT).
alter table complaints add column if not exists flagged boolean not null default false;
alter table complaints add column if not exists merged boolean not null default false;
update complaints set flagged = coalesce((state->>'flagged')::boolean, false),
                      merged = coalesce(jsonb_typeof(state -> 'merge'), 'null') = 'object';
drop index if exists complaints_hotspots;
create index complaints_hotspots on complaints (filed_at) include (community, grid, category) where not merged;

create index if not exists complaints_newest on complaints (filed_at desc, complaint_id desc);
create index if not exists complaints_stage_newest on complaints (stage, filed_at desc, complaint_id desc);
create index if not exists complaints_community_newest on complaints (community, filed_at desc, complaint_id desc);
create index if not exists complaints_grid_newest on complaints (grid, filed_at desc, complaint_id desc);
create index if not exists complaints_category_newest on complaints (category, filed_at desc, complaint_id desc);
-- departments ? $1 (a department's cases): jsonb's default GIN operator class answers "?".
create index if not exists complaints_departments on complaints using gin (departments);
create index if not exists complaints_escalated_newest on complaints (filed_at desc, complaint_id desc)
    where escalation_level > 0;
create index if not exists complaints_flagged_newest on complaints (filed_at desc, complaint_id desc)
    where flagged;
