"""Tunnel byte relaying shared by the edge and the reference agent (DESIGN §7: bytes do not
travel over NATS): connection ends, the stream relay, and the data connection's first frame."""
