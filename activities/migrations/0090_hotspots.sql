-- Hotspots (activities/hotspots.py) count the cases filed in a range of months by grid, category and month, merged
-- reports left out. This partial index carries those columns, so the count reads the index alone (an index-only
-- scan) instead of each case's whole folded state; its predicate is the query's own, word for word.
create index if not exists complaints_hotspots on complaints (filed_at) include (community, grid, category)
    where coalesce(jsonb_typeof(state -> 'merge'), 'null') <> 'object';
