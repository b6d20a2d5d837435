"""mTLS for agent endpoints: a TLS terminator in front of the gateway (see `server`)."""
