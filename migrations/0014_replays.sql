-- Replays spend nothing. A validly signed webhook body sent again under a new, unsigned
-- `X-GitHub-Delivery` id is the same delivery: each delivery records a hash of its signed body,
-- and a body is recorded once (GitHub's own redeliveries keep their id and their body).
ALTER TABLE deliveries ADD COLUMN body_sha256 text;
CREATE UNIQUE INDEX deliveries_body_once ON deliveries (body_sha256) WHERE body_sha256 IS NOT NULL;
