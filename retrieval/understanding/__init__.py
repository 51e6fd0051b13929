"""Question understanding: linking, constraints, language and intent."""
