"""The ports: what the use cases need from the outside world, one module per context.

Every Protocol here has at least two implementations in ``adapters/``: a real one
and an in-memory twin that passes the same contract tests.
"""
