-- Whistle's event store gets its own role and database, apart from Temporal's `temporal` and
-- `temporal_visibility` databases (which temporalio/auto-setup creates as the superuser).
--
-- The postgres image runs this file once, on the first start with an empty data volume, via
-- `psql -v ON_ERROR_STOP=1`. The password is read from the container's WHISTLE_DB_PASSWORD (set by
-- docker-compose.yml) with psql's \getenv (PostgreSQL 15+), so no secret is written down here.
-- To change it later: ALTER ROLE whistle PASSWORD '...'; re-running this script does not happen.

\getenv whistle_password WHISTLE_DB_PASSWORD
\if :{?whistle_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'WHISTLE_DB_PASSWORD is not set in the postgres container'; END $$;
\endif

CREATE ROLE whistle LOGIN PASSWORD :'whistle_password';
CREATE DATABASE whistle OWNER whistle ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE whistle FROM PUBLIC;
GRANT ALL ON DATABASE whistle TO whistle;
