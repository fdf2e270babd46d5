-- The filing registry: one complaint id, one case, forever. Temporal's id-reuse policy protects an id only
-- while Temporal retains its workflow; this table outlives that retention. The SDK registers an id (with
-- the digest of the intake as sent) before it starts the workflow, and binds the run once started; the
-- event store binds the run on every append and refuses a batch from any other run.
-- body_digest is null for cases filed before the registry or started outside the SDK (their row comes
-- from the store); workflow_id and run_id are null until the filing's workflow is started.
create table filings (
    complaint_id text primary key,
    body_digest text,
    workflow_id text,
    run_id text,
    filed_at timestamptz not null default now()
);

-- Cases already in the store are filed: each belongs to the run that wrote its first event.
insert into filings (complaint_id, workflow_id, run_id, filed_at)
select distinct on (complaint_id) complaint_id, workflow_id, run_id, at
from events
order by complaint_id, seq;
