"""The library's rules: one module per domain concept, no GraphQL here."""
