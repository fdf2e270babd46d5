-- Least privilege (PIPL): three kinds of access to Whistle's database, as group roles a deployment grants to
-- its login users (docker-compose.yml: whistle_worker and whistle_gateway are whistle_app, whistle_reports is
-- whistle_reader; the owner, who runs these migrations, is the database's owner).
--   whistle_app     the worker, the gateway and the CLI: reads and writes the store, the registry, the outbox,
--                   keys and publication; personal_data only through the functions below.
--   whistle_reader  reports, dashboards, analysts: reads the read models and the public data; nothing personal.
-- Roles are the cluster's, so they are created once and granted per database.
-- A deployment's initdb script makes them as the superuser (deploy/postgres/initdb); a migrator that may create
-- roles (the embedded stack's) makes them here. Checked first: a migrator without CREATEROLE is refused even
-- for a role that exists.
do $$
begin
    if not exists (select from pg_roles where rolname = 'whistle_app') then
        create role whistle_app nologin;
    end if;
exception when duplicate_object then null;  -- another database of this cluster made it just now
end
$$;
do $$
begin
    if not exists (select from pg_roles where rolname = 'whistle_reader') then
        create role whistle_reader nologin;
    end if;
exception when duplicate_object then null;
end
$$;

grant usage on schema public to whistle_app, whistle_reader;
grant select, insert, update, delete on
    events, complaints, filings, gateway_filings, notification_outbox, api_keys, report_snapshots,
    publications, publication_events, erasures, schema_migrations
    to whistle_app;
grant usage on all sequences in schema public to whistle_app;
grant select on complaints, events, report_snapshots, publications, publication_events to whistle_reader;
revoke all on personal_data from whistle_app, whistle_reader;

-- The only ways to the person. security definer: they run as the owner, with a fixed search path.

create function whistle_deposit_reporter(p_complaint_id text, p_reporter jsonb, p_reference text)
returns text language sql security definer set search_path = public, pg_temp as $$
    insert into personal_data (complaint_id, reporter, reference) values (p_complaint_id, p_reporter, p_reference)
    on conflict (complaint_id) do update set reference = coalesce(personal_data.reference, excluded.reference)
    returning reference
$$;

create function whistle_keep_reporter(p_complaint_id text, p_reporter jsonb)
returns void language sql security definer set search_path = public, pg_temp as $$
    insert into personal_data (complaint_id, reporter) values (p_complaint_id, p_reporter) on conflict do nothing
$$;

create function whistle_withheld_reporter(p_complaint_id text)
returns jsonb language sql stable security definer set search_path = public, pg_temp as $$
    select reporter from personal_data where complaint_id = p_complaint_id and reference is null
$$;

create function whistle_resident_actor(p_complaint_id text, p_resident_id text)
returns table (reference text, matches boolean) language sql stable security definer
set search_path = public, pg_temp as $$
    select reference, reporter ->> 'resident_id' = p_resident_id from personal_data where complaint_id = p_complaint_id
$$;

create function whistle_resident_of(p_complaint_id text)
returns text language sql stable security definer set search_path = public, pg_temp as $$
    select coalesce(
        (select reporter ->> 'resident_id' from personal_data where complaint_id = p_complaint_id),
        (select state #>> '{case,intake,reporter,resident_id}' from complaints where complaint_id = p_complaint_id))
$$;

create function whistle_publish_consent(p_complaint_id text)
returns boolean language sql stable security definer set search_path = public, pg_temp as $$
    select (reporter ->> 'publish_consent')::boolean from personal_data where complaint_id = p_complaint_id
$$;

create function whistle_erase_reporter(p_complaint_id text, p_at timestamptz)
returns void language sql security definer set search_path = public, pg_temp as $$
    update personal_data set reporter = '{}'::jsonb, erased_at = p_at where complaint_id = p_complaint_id
$$;

revoke all on function whistle_deposit_reporter(text, jsonb, text), whistle_keep_reporter(text, jsonb),
    whistle_withheld_reporter(text), whistle_resident_actor(text, text), whistle_resident_of(text),
    whistle_publish_consent(text), whistle_erase_reporter(text, timestamptz) from public;
grant execute on function whistle_deposit_reporter(text, jsonb, text), whistle_keep_reporter(text, jsonb),
    whistle_withheld_reporter(text), whistle_resident_actor(text, text), whistle_resident_of(text),
    whistle_publish_consent(text), whistle_erase_reporter(text, timestamptz) to whistle_app;

-- Tables a later migration creates get the same grants from the owner's default privileges.
alter default privileges in schema public grant select, insert, update, delete on tables to whistle_app;
alter default privileges in schema public grant usage on sequences to whistle_app;
