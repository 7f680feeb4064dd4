"""The Flask-free request core: which model serves, and the path of every related response."""
