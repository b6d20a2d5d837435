"""The edge: the data plane of tunnels and public URLs (DESIGN §2). It splices bytes; the
registry's catalog decides which port and host lead to which agent's target."""
