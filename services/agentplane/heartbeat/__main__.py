from agentplane.heartbeat.main import main

main()
