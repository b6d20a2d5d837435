"""NATS connections, typed request/reply, readiness and JetStream consumers with safe defaults."""
