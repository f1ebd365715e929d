"""The example plugin's hook implementations."""
