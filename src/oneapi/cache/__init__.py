"""Shared-state helpers below the services layer: the Redis client and the rate limiters."""
