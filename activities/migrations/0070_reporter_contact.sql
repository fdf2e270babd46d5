-- A supervisor's or hotline operator's look-up of a case's reporter (to call them back), the one way the
-- application's role reads a name and phone: through this function, never the table (0065_roles.sql).
create function whistle_reporter_contact(p_complaint_id text)
returns jsonb language sql stable security definer set search_path = public, pg_temp as $$
    select reporter - 'publish_consent' from personal_data where complaint_id = p_complaint_id and erased_at is null
$$;

revoke all on function whistle_reporter_contact(text) from public;
grant execute on function whistle_reporter_contact(text) to whistle_app;
