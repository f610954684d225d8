"""MockAuthServer tests, driven with plain httpx clients."""
