"""Desired state: users/ and policies/ read, validated and rendered."""
