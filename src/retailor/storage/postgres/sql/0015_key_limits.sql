-- What limits an API key beyond its scope: when it stops working, the key it replaced,
-- when it was last used (recorded about once a minute), the web origins that may use it
-- from a browser, and its rate limit (requests a second and the burst; NULL: none).
ALTER TABLE api_keys
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN rotated_from text,
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN allowed_origins text[] NOT NULL DEFAULT '{}',
    ADD COLUMN rate_per_second double precision,
    ADD COLUMN rate_burst integer;
