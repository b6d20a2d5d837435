"""Where a new PAP agent is placed until a provisioner says where it really runs."""

KUBERNETES_NAMESPACE = "agents"
