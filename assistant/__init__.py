"""The assistant: LLM backends, the question-to-SQL pipeline, prompts, memory, summaries and the CLI."""
