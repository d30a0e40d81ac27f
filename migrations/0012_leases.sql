-- Work that one process of a deployment does for all of them (the catch-up sweep of missed
-- webhook deliveries): a process claims the lease before it starts, and only when no other
-- holds it; at the end it keeps it a while longer, so that the other processes' timers, which
-- fire at about the same time, find it taken and skip their sweep.
CREATE TABLE leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  held_until  timestamptz NOT NULL
);
