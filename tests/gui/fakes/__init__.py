"""Test doubles and gestures for the gui tests (not test modules; fixtures in conftest.py)."""
