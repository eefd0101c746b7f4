"""Groups: one MCP endpoint for several servers (issue 14), the gateway's side.

``/groups/<name>/mcp`` and ``/groups/<name>/sse`` are served by a :class:`GroupMux`
(``runtime.py``), which the gateway's Streamable HTTP and legacy SSE code drive like a
server's :class:`~switchboard.gateway.mux.StdioMux`. Its parts:

- ``naming.py``: merging the members' lists, naming, filtering, routing indexes (pure);
- ``pages.py``: cursors over merged lists (pure);
- ``lean.py``: the two meta-tools of lean mode (pure);
- ``listings.py``: each member server's lists, fetched once and cached per server
  until it changes (``Gateway.server_listing``);
- ``runtime.py``: a group's sessions, the member sessions each opens lazily, routing
  of calls, list_changed announcements;
- ``relay.py``: the members' messages to a group session (server->client request ids
  rewritten); ``direct.py``: the call hot path; ``refusals.py``: why a name is not
  served; ``hub.py``: the gateway's side (``/groups/`` dispatch, events, listings);
  ``target.py``: what the transports get in place of a server.
"""
