-- Whistle's event store gets its own role and database, apart from Temporal's `temporal` and
-- `temporal_visibility` databases (05-temporal.sql: owned by Temporal's own role `temporal`).
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

-- Least privilege (activities/migrations/0065_roles.sql): the owner `whistle` runs the migrations (the
-- whistle-migrate job), which grant the tables to two group roles; each service logs in as a role of its own.
--   whistle_worker, whistle_gateway  members of whistle_app: the store, the registry, the outbox, keys,
--                                    publication; the reporter's personal data only through functions
--   whistle_reports                  member of whistle_reader: the read models, nothing personal
\getenv worker_password WHISTLE_WORKER_DB_PASSWORD
\getenv gateway_password WHISTLE_GATEWAY_DB_PASSWORD
\getenv reports_password WHISTLE_REPORTS_DB_PASSWORD
\if :{?worker_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'WHISTLE_WORKER_DB_PASSWORD is not set in the postgres container'; END $$;
\endif
\if :{?gateway_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'WHISTLE_GATEWAY_DB_PASSWORD is not set in the postgres container'; END $$;
\endif
\if :{?reports_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'WHISTLE_REPORTS_DB_PASSWORD is not set in the postgres container'; END $$;
\endif

CREATE ROLE whistle_app NOLOGIN;
CREATE ROLE whistle_reader NOLOGIN;
CREATE ROLE whistle_worker LOGIN PASSWORD :'worker_password' IN ROLE whistle_app;
CREATE ROLE whistle_gateway LOGIN PASSWORD :'gateway_password' IN ROLE whistle_app;
CREATE ROLE whistle_reports LOGIN PASSWORD :'reports_password' IN ROLE whistle_reader;
GRANT CONNECT ON DATABASE whistle TO whistle_app, whistle_reader;
