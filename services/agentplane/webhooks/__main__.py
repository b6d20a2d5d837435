from agentplane.webhooks.main import main

main()
