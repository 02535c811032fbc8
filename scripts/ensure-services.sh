#!/usr/bin/env bash
# Make sure the services the test suite needs are running on loopback.
# The embedded default needs nothing; the scale-out tests (PostgreSQL, Redis) use these
# when they exist. Under CI a service that cannot be started is reported loudly; the
# tests that need it then fail rather than skip.
set -u
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null \
    || echo "ensure-services: could not start PostgreSQL" >&2
fi
if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null \
    || echo "ensure-services: could not start Redis" >&2
fi
exit 0
