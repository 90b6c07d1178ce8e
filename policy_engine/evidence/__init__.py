"""Evidence of ML security activities: predicate types, their schemas, producing them."""
