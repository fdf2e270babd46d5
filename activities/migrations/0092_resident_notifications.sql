-- Residents hear back (activities/resident_delivery.py): whether a case's reporter wants messages, and what each
-- channel did with each message meant for them. Neither holds an address: the contact details stay in
-- personal_data and are looked up when a message goes out.

-- A reporter's choice per case (opt-out, and back in): no row means messages go out.
create table resident_notification_settings (
    complaint_id text primary key,
    enabled boolean not null,
    changed_by text not null,  -- who recorded the choice: the resident's key, or the operator acting for them
    changed_at timestamptz not null default now()
);

-- One row per message and channel: sent, or why not. A message over the reporter's rate limit is recorded here
-- ('rate_limited') and not sent; so is one for a reporter who opted out or left no address, and one whose address
-- the server refused for good ('undeliverable': no such mailbox, not a mobile number). 'sending' is a
-- message reserved and on its way (it counts against the limit); 'failed' one whose attempt failed and that the
-- dispatcher tries again. recipient is a digest of the channel's address (the rate limit is per address), never
-- the address itself, and is cleared when the case's personal data is erased.
create table resident_messages (
    id bigserial primary key,
    channel text not null,
    delivery_key text not null,
    complaint_id text not null,
    moment text not null,
    recipient text,
    outcome text not null
        check (outcome in ('sending', 'sent', 'failed', 'undeliverable', 'opted_out', 'rate_limited', 'no_contact')),
    error text,  -- the kind of the last failure (an SMTP or provider code), never an address
    attempted_at timestamptz not null default now(),
    unique (channel, delivery_key)
);

-- The rate limit's count: messages to one address on one channel within the window.
create index resident_messages_recent on resident_messages (channel, recipient, attempted_at)
    where outcome in ('sending', 'sent');

create index resident_messages_case on resident_messages (complaint_id, id);
