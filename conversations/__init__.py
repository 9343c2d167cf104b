"""Multi-step FSM flows, each with a Mermaid state diagram in its module docstring."""
