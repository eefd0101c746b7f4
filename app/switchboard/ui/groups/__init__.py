"""The Groups page of the window (issue 14): groups of servers and their tools."""
