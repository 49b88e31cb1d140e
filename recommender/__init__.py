"""Pure functions over arrays, shared by offline evaluation and online serving: scoring,
candidate filtering, the safety policy, diversity and explanations."""
