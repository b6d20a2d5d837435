"""Provisioners: one port (`Provisioner`), chosen by `AGENTPLANE_PROVISIONER`."""
