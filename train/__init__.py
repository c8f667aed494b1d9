"""Teaching the model this database: generated, execution-verified training pairs, a LoRA fine-tune
on the CPU, and its export as a GGUF adapter that llama.cpp applies on top of the quantised base.

Imports `db` (schema, catalog, engines) and the assistant's prompt builder; nothing imports `train`
except the CLI entry point, so the serving path never needs PyTorch.
"""
