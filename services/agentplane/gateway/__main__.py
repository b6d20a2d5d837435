from agentplane.gateway.main import main

main()
