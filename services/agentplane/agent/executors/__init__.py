"""Task executors: one per task type, found through `registry.ExecutorRegistry`."""
