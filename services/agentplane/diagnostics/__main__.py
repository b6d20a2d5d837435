from agentplane.diagnostics.main import main

main()
