"""Login attempts counted per key in a sliding window, in process memory or in Redis.

Keys are ``"<kind>:<value>"`` strings chosen by the use case, such as
``"email:alice@example.com"`` and ``"client:203.0.113.9"``; each kind has its own
limit (by default 5 failures per e-mail and 50 per client address in 900 seconds).

An attempt is counted when it is admitted, before the password is checked, and the
decision and the record are one atomic step (one Lua script in Redis; no ``await``
between them in memory). So however many attempts arrive at once, at most ``limit``
per key are let through; the rest are refused without being counted. An attempt that
succeeds is cleared again. A key is over its limit while it holds ``limit`` attempts
in the last ``window_seconds``; it is free again when the oldest of them ages out.
Each key keeps at most ``limit`` entries: memory stays bounded however long an
attacker keeps trying.

The in-memory throttle suits one process; several processes share the Redis one.
When Redis cannot be reached, the Redis throttle falls back to an in-memory one of
its own: each process then throttles on its own, never not at all.
"""
