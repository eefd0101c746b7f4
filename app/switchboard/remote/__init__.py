"""Remote MCP servers (issue 18): Switchboard as the one upstream client of an https
MCP server, signed in with the provider's own OAuth (``oauth.py``), tokens in the OS
keyring (``vault.py``), driven through the gateway's mux like a stdio server
(``stream.py``, ``server.py``). Clients never see the upstream token."""
