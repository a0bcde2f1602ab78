"""Shared vocabulary (enums, dataclasses, defaults); imports the standard library only."""
