-- The webhook path's outbox. A delivery Tollgate acts on is recorded together with the job it
-- becomes (its queue, its data, and how it folds into jobs already waiting), in one statement,
-- before GitHub gets its answer; a dispatcher then sends the jobs to the queue, many at a time
-- and in the same transaction that marks them sent (src/queue/outbox.ts). In a burst the web path
-- writes one row per delivery and nothing else; after a crash, what was recorded and not sent is
-- sent at the next start. The job's data is cleared once sent: the row keeps no payload.
ALTER TABLE deliveries
  ADD COLUMN job_queue     text,
  ADD COLUMN job_data      jsonb,
  ADD COLUMN job_fold      jsonb,
  ADD COLUMN dispatched_at timestamptz;

CREATE INDEX deliveries_undispatched ON deliveries (received_at) WHERE job_queue IS NOT NULL AND dispatched_at IS NULL;
