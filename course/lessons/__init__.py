"""Logic that one lesson needs and the others do not: one module per concept."""
