"""Connectivity probes (TCP connect, TLS handshake, HTTP GET, each timed), shared by the
diagnostics service (the hub's perspective) and the reference agent (reach checks)."""
