-- Open311's request updates feed (GET servicerequestupdates, gateway/open311_updates.py) asks for the events made in
-- a window of time, oldest first, a page at a time: without an index on the time, every poll reads every event.
create index events_at on events (at);
