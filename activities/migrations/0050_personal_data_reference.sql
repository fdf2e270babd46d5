-- The claim check: the reporter's name, phone and resident id never enter Temporal. The SDK keeps them here
-- before it starts the case, under a random reference (pd-<32 hex>) that the case carries instead.
-- Rows of cases filed before this have no reference: their histories hold the reporter itself.
alter table personal_data add column reference text unique;
