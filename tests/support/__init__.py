"""Shared support code for the test suite."""
