from agentplane.lifecycle.main import main

main()
