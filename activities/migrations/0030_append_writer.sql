-- Which workflow task last wrote a case (its run and the history length when that task started).
-- A case's publish step writes from inside its workflow task; a task that is lost and redone writes
-- again from a longer history, and a late write from the lost task (shorter history, same run) is refused.
alter table complaints add column writer_run_id text;
alter table complaints add column writer_history_length bigint;
