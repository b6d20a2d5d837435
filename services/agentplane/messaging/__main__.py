from agentplane.messaging.main import main

main()
