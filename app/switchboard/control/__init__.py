"""Control API (server side) and its client (the CLI's side)."""
