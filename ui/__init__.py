"""The Streamlit chat UI (nothing imports this package but the command root, for ui.cli)."""
