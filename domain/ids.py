"""Identity of entities before they are stored."""

NEW_ID = 0
"""Placeholder id of an entity not yet stored; the repository assigns the real one."""

MAX_ID = 2_147_483_647
"""Largest id the stores hold (32-bit serial columns); a larger one names nothing."""
