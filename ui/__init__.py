"""The Streamlit chat UI (nothing imports this package)."""
