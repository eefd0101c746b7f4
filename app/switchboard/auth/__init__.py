"""Embedded OAuth 2.1 authorization server, key provider, consent and token validator."""
