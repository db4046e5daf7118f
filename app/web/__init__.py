"""Plain web pages served beside the GraphQL endpoint (no JavaScript needed)."""
