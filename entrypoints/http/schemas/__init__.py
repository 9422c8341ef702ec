"""The shapes of HTTP requests and responses, as msgspec Structs, one module per context.

Constraints live on the Structs (``Meta``) so the OpenAPI document shows them and
Litestar rejects bad input with a 422 before a use case runs; the business rules
proper are checked again by the domain. Request bodies forbid unknown fields, and
none of them has a field a client may not set (``id``, ``slug``, ``is_superuser``
on one's own profile...). Money leaves as a string with two decimal places and
times as RFC 3339 UTC.
"""
