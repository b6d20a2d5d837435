from agentplane.launcher.supervisor import main

main()
