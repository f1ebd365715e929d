"""Layer 5, the engine: criteria compiled to queries, attrition, explanations and the reference
evaluator that checks them."""
