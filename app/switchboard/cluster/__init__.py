"""Moving servers and groups to a team's Kubernetes cluster (ToolHive operator) and back
(issue 17): ``toolhive`` builds the manifests, ``workloads`` maps commands to
containers, ``files`` writes the directory and reads MCPServer manifests."""
