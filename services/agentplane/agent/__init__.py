"""The reference agent (`agentplane agent`): enrollment, heartbeats, the NATS channel,
commands, task executors and signed-update checks. A client: it uses libs, never services."""
