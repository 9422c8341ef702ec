"""Identity of entities before they are stored."""

NEW_ID = 0
"""Placeholder id of an entity not yet stored; the repository assigns the real one."""
