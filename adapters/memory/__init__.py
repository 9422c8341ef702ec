"""In-memory twins of the repositories and the unit of work, one module per context.

They are real implementations, held to the same contract tests as the SQL adapters:
same id order, same uniqueness rules, same ordering and tie-breaks, same rollback.
Entities go in and out as copies, so a caller mutating a returned object changes
nothing until it calls ``update``.
"""
