"""Check functions for the exercises: one module per lesson, named after it."""
