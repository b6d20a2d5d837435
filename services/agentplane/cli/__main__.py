from agentplane.cli.app import main

main()
