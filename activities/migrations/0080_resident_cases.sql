-- The cases a resident filed, for their own list and for Open311 reads with their key: those filed through the
-- gateway with their key (gateway_filings.resident_id) and those whose kept reporter names them (a hotline
-- operator filing for them). The gateway's role cannot read personal_data, so the second set comes through a
-- function that returns the case ids and nothing of the reporter; the index keeps it from reading every row.
create index personal_data_resident on personal_data ((reporter ->> 'resident_id'));

create function whistle_cases_of_resident(p_resident_id text)
returns setof text language sql stable security definer set search_path = public, pg_temp as $$
    select complaint_id from personal_data where reporter ->> 'resident_id' = p_resident_id
$$;

revoke all on function whistle_cases_of_resident(text) from public;
grant execute on function whistle_cases_of_resident(text) to whistle_app;
