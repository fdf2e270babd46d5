-- The transactional outbox for notifications (activities/dispatch.py): the store's append transaction inserts
-- one row per notification and receiver, and the dispatcher delivers them. id gives each receiver's order;
-- (receiver, delivery_key) makes a retried append enqueue nothing twice. A pending row is claimed by moving
-- next_attempt_at forward (a lease), so after a failure or a lost worker it is due again by itself.
create table notification_outbox (
    id bigserial primary key,
    receiver text not null,
    delivery_key text not null,
    complaint_id text not null,
    notification jsonb not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text,  -- the kind of failure, never the receiver's URL or a token
    created_at timestamptz not null default now(),
    delivered_at timestamptz,
    unique (receiver, delivery_key)
);

-- Each receiver's pending rows in id order: its head (the next to send) and the rows behind it.
create index notification_outbox_pending on notification_outbox (receiver, id) where status = 'pending';

-- What an operator looks at: the dead letters, newest first (``whistle notifications --status dead``).
create index notification_outbox_dead on notification_outbox (id) where status = 'dead';
