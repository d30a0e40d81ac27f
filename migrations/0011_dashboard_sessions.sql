-- People signed in to the dashboard with GitHub. The session id is kept only as its SHA-256
-- (the cookie holds the id itself); what the person may see on GitHub (the app's installations
-- and repositories they can access) was read at sign-in and holds until the session ends.
-- No GitHub token is stored.
CREATE TABLE dashboard_sessions (
  id_sha256      text PRIMARY KEY,
  login          text NOT NULL,
  user_id        bigint NOT NULL,
  installations  jsonb NOT NULL,
  repositories   jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
