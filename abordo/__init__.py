"""The command root: `abordo` gathers every package's commands (abordo.cli) and nothing imports it."""
