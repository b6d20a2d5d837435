"""The diagnostics domain: how check results and agent presence make a service's status."""
