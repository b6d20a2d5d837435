from agentplane.registry.main import main

main()
