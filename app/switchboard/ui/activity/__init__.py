"""The Activity page (issue 15.2): every request through the gateway, live, filtered,
with its details; and the sparkline the servers table draws per server."""
