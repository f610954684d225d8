"""Interop tests: the client against third-party servers (oidc-provider, the MCP SDK)."""
