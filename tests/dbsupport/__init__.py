"""Test-only app (INSTALLED_APPS of the test settings only): how the test suite empties immutable tables.

See management/commands/flush.py. Production has no such app, so no such mechanism.
"""
