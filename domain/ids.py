"""Identity of entities before they are stored."""

NEW_ID = 0
"""Placeholder id of an entity not yet stored; the repository assigns the real one."""

MAX_ID = 2**63 - 1
"""Largest id the stores hold (64-bit columns); a larger one names nothing."""
