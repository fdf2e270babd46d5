-- The writer columns (0030) served the retired `publish` local activity, which wrote from inside its workflow
-- task and had to refuse a lost task's late writes. The `store` activity writes only what the history has
-- recorded, so nothing reads or writes them any more (issue 16).
alter table complaints drop column writer_run_id;
alter table complaints drop column writer_history_length;
