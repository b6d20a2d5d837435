"""Every NATS subject, stream and wire model of agentplane (pydantic, frozen)."""
