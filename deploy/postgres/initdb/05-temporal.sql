-- Temporal's own role and its two databases, apart from Whistle's (10-whistle.sql): the Temporal server and its
-- schema job (docker-compose.yml: temporal-schema) log in as `temporal`, which owns `temporal` and
-- `temporal_visibility` and nothing else; it is not a superuser and may not create databases or roles.
--
-- The postgres image runs this file once, on the first start with an empty data volume, as the superuser via
-- `psql -v ON_ERROR_STOP=1`. The password is read from the container's TEMPORAL_DB_PASSWORD with psql's \getenv
-- (PostgreSQL 15+), so no secret is written down here. To change it later: ALTER ROLE temporal PASSWORD '...'.

\getenv temporal_password TEMPORAL_DB_PASSWORD
\if :{?temporal_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'TEMPORAL_DB_PASSWORD is not set in the postgres container'; END $$;
\endif

CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE temporal_visibility OWNER temporal ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE temporal, temporal_visibility FROM PUBLIC;

-- The visibility schema (schema/postgresql/v12/visibility, v1.2) creates the btree_gin extension unless it exists;
-- created here as the superuser, so the schema job needs no more than ownership of its databases.
\connect temporal_visibility
CREATE EXTENSION IF NOT EXISTS btree_gin;
