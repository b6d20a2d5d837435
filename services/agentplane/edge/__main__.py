from agentplane.edge.main import main

main()
