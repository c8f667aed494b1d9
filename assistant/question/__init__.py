"""Reading the question once, before any model call: what its words ask for (`asked.Asked`)."""
