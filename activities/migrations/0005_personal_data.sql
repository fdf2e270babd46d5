-- Residents' personal data (the reporter's name and phone), kept apart from the events and read models.
-- events.payload and complaints.state show a placeholder instead; the store's own readers join this back.
-- Grant it to nobody: supervisors' roles get select on events and complaints only. Erasing a resident's
-- data is one delete here; the append-only events never change.
create table personal_data (
    complaint_id text primary key,
    reporter jsonb not null,
    recorded_at timestamptz not null default now()
);

revoke all on personal_data from public;
