"""Shared helpers of the test suite: comparison with torch, tolerance policy, random graphs."""
